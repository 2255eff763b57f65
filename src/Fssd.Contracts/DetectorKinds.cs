namespace Fssd;

/// <summary>
/// How a detector scores an input: FSSD, or one of the methods the paper compares it with. Every method
/// gives larger scores to inputs that look in-distribution, so one threshold rule and one set of metrics
/// serve them all.
/// </summary>
public enum DetectorMethod
{
    /// <summary>Distance to the Feature Space Singularity per tap, taps combined (Huang et al., 2021).</summary>
    FSSD,

    /// <summary>Maximum softmax probability (Hendrycks and Gimpel, 2017).</summary>
    Base,

    /// <summary>Maximum softmax probability at temperature T after an input step of size ε (Liang et al., 2018).</summary>
    ODIN,

    /// <summary>Distance to the nearest class-conditional Gaussian per tap, with an input step; taps combined by logistic regression (Lee et al., 2018).</summary>
    Mahalanobis,

    /// <summary>The negative free energy T · logsumexp(logits / T), T = 1 (Liu et al., 2020).</summary>
    Energy,

    /// <summary>Mean or variance of the softmax over stochastic passes with dropout on (Gal and Ghahramani, 2016).</summary>
    MCDropout,

    /// <summary>Maximum of the softmax averaged over independently trained classifiers (Lakshminarayanan et al., 2017).</summary>
    DeepEnsemble,

    /// <summary>Maximum softmax probability of a classifier fine-tuned to predict uniformly on an auxiliary outlier set (Hendrycks et al., 2019).</summary>
    OutlierExposure,

    /// <summary>
    /// Cosine distance to the k-th nearest in-distribution feature of a tap (features L2-normalised; Sun et
    /// al., 2022), negated: fitted on in-distribution inputs alone, no classes needed.
    /// </summary>
    Knn,

    /// <summary>
    /// Squared Mahalanobis distance to one Gaussian of a tap's in-distribution features (mean and a
    /// Ledoit–Wolf shrunk covariance), negated: fitted on in-distribution inputs alone, no classes needed.
    /// </summary>
    Gaussian,
}

/// <summary>What a detector's weights, step and threshold were set on.</summary>
public enum CalibrationKind
{
    /// <summary>In-distribution inputs alone: one tap, a threshold that keeps the target share of them.</summary>
    ThresholdOnly,

    /// <summary>In-distribution and real out-of-distribution validation inputs (the paper's protocol).</summary>
    OodValidation,

    /// <summary>In-distribution inputs and pseudo-outliers made from them: no OoD data at all.</summary>
    OutlierFree,
}

/// <summary>Which MC Dropout statistic scores an input.</summary>
public enum MonteCarloStatistic
{
    /// <summary>The largest class probability of the mean prediction.</summary>
    Mean,

    /// <summary>The negative total variance of the predictions.</summary>
    Variance,
}

/// <summary>Ways to turn in-distribution images into stand-ins for out-of-distribution ones.</summary>
public enum PseudoOutlierKind
{
    /// <summary>Every pixel moved to a random place: the histogram stays, all structure goes.</summary>
    PixelShuffle,

    /// <summary>The image cut into a 2 × 2 grid of cells, put back in random order: large parts stay whole.</summary>
    PatchShuffle2,

    /// <summary>The image cut into a 4 × 4 grid of cells, put back in random order: strokes and edges stay.</summary>
    PatchShuffle4,

    /// <summary>The image cut into a 7 × 7 grid of cells, put back in random order: local texture stays.</summary>
    PatchShuffle7,

    /// <summary>255 − v: the structure stays, the intensities flip.</summary>
    Invert,

    /// <summary>Uniform noise in pixel space (nothing of the image stays).</summary>
    UniformNoise,

    /// <summary>A 5 × 5 box blur: the layout stays, the detail goes.</summary>
    Blur,
}
