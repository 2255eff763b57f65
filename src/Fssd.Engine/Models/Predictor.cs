using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Data;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>A model's predicted class and its softmax probability for one input.</summary>
public readonly record struct ClassPrediction(int Label, double Confidence);

/// <summary>Runs a model on decoded images and returns the top class of each.</summary>
public static class Predictor
{
    /// <summary>Converts each image to the model's channels and size, then predicts in one batch.</summary>
    public static IReadOnlyList<ClassPrediction> Predict(LoadedModel model, IReadOnlyList<RawImage> images)
    {
        model.RequireClassifier("class predictions");
        if (images.Count == 0) return Array.Empty<ClassPrediction>();
        var spec = model.Info.InputSpec;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var bytes = ToByteBatch(images, spec);
        var input = ImageTensors.ToInput(bytes, spec, model.Device);
        using var output = model.Forward(input);
        var probabilities = output.Logits.softmax(1);
        var (values, indices) = probabilities.max(1);
        var confidence = values.cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        var labels = indices.cpu().data<long>().ToArray();
        return labels.Select((l, i) => new ClassPrediction((int)l, confidence[i])).ToArray();
    }

    /// <summary>Images (channels last, any size) as one uint8 batch [B, C, H, W] at the spec's size.</summary>
    public static Tensor ToByteBatch(IReadOnlyList<RawImage> images, FssdInputSpec spec)
    {
        int size = spec.Channels * spec.Height * spec.Width;
        var buffer = new byte[images.Count * size];
        for (int i = 0; i < images.Count; i++)
        {
            var chw = DatasetReader.ChannelsFirst(DatasetReader.Prepare(images[i], spec.Channels, spec.Height, spec.Width));
            Buffer.BlockCopy(chw, 0, buffer, i * size, size);
        }
        return tensor(buffer, new long[] { images.Count, spec.Channels, spec.Height, spec.Width }, dtype: ScalarType.Byte);
    }
}
