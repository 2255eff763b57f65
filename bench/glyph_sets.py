"""Renders the out-of-distribution design sets of the outlier-free default study (docs/default-detector.md).

28 x 28 grayscale PNG files, white on black like FashionMNIST, drawn at 112 x 112 and averaged down 4 x 4.
No digits of any kind, so that MNIST stays a test set. Sets (each --count images, seeded):
  latin-upper   A-Z in the DejaVu faces (sans, serif, mono, condensed; regular, bold, oblique, light),
                glyph filling most of the frame
  latin-lower   a-z, same faces
  greek         Greek capitals and small letters
  cyrillic      Cyrillic capitals and small letters
  symbols       math operators, arrows, punctuation, currency signs
  shapes        outlined and filled ellipses, rectangles, triangles, stars
  textures      stripes, checkers, dots and lines at random pitch and angle
Every image has its own random size, rotation, shear, offset and stroke weight.

    /usr/bin/python3 bench/glyph_sets.py OUTDIR [--count 1000] [--seed 20261203]
"""
import argparse, glob, math, os, random
from PIL import Image, ImageDraw, ImageFont

SIDE, SCALE = 28, 4
CANVAS = SIDE * SCALE
FACES = sorted(glob.glob('/usr/share/fonts/truetype/dejavu/DejaVu*.ttf'))
FACES = [f for f in FACES if 'MathTeX' not in f]
SETS = {
    'latin-upper': ''.join(chr(c) for c in range(ord('A'), ord('Z') + 1)),
    'latin-lower': ''.join(chr(c) for c in range(ord('a'), ord('z') + 1)),
    'greek': 'ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρστυφχψω',
    'cyrillic': 'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯбвгджзийклмнпрстфцчшщъыьэюя',
    'symbols': '+−×÷=≠≈<>≤≥±∞∑∏∫√∂∇∈∉∩∪⊂⊃←↑→↓↔⇐⇒⇔&@#%§¶©®$€£¥¢?!*♠♣♥♦★☆♪♫',
}


def downsample(img):
    return img.resize((SIDE, SIDE), Image.BOX)


def glyph(rng, chars):
    img = Image.new('L', (CANVAS, CANVAS), 0)
    face = rng.choice(FACES)
    ch = rng.choice(chars)
    size = int(CANVAS * rng.uniform(0.6, 1.0))
    font = ImageFont.truetype(face, size)
    stroke = int(rng.uniform(0, 1.6) * SCALE)
    layer = Image.new('L', (CANVAS * 2, CANVAS * 2), 0)
    d = ImageDraw.Draw(layer)
    box = d.textbbox((0, 0), ch, font=font, stroke_width=stroke)
    w, h = box[2] - box[0], box[3] - box[1]
    d.text((CANVAS - w / 2 - box[0], CANVAS - h / 2 - box[1]), ch, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    shear = rng.uniform(-0.25, 0.25)
    layer = layer.transform(layer.size, Image.AFFINE, (1, shear, -shear * CANVAS, 0, 1, 0), resample=Image.BILINEAR)
    layer = layer.rotate(rng.uniform(-15, 15), resample=Image.BILINEAR)
    dx, dy = rng.uniform(-2.5, 2.5) * SCALE, rng.uniform(-2.5, 2.5) * SCALE
    left, top = int(CANVAS / 2 - dx), int(CANVAS / 2 - dy)
    return downsample(layer.crop((left, top, left + CANVAS, top + CANVAS)))


def shape(rng):
    img = Image.new('L', (CANVAS, CANVAS), 0)
    d = ImageDraw.Draw(img)
    kind = rng.choice(['ellipse', 'rectangle', 'triangle', 'star'])
    fill = rng.random() < 0.5
    width = int(rng.uniform(1, 4) * SCALE)
    shade = int(rng.uniform(120, 255))
    cx, cy = CANVAS / 2 + rng.uniform(-10, 10), CANVAS / 2 + rng.uniform(-10, 10)
    rx, ry = rng.uniform(0.2, 0.45) * CANVAS, rng.uniform(0.2, 0.45) * CANVAS
    if kind == 'ellipse':
        d.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=shade if fill else None, outline=shade, width=width)
    elif kind == 'rectangle':
        d.rectangle((cx - rx, cy - ry, cx + rx, cy + ry), fill=shade if fill else None, outline=shade, width=width)
    else:
        n = 3 if kind == 'triangle' else 10
        a0 = rng.uniform(0, 2 * math.pi)
        pts = []
        for i in range(n):
            r = 1.0 if kind == 'triangle' or i % 2 == 0 else 0.45
            a = a0 + 2 * math.pi * i / n
            pts.append((cx + rx * r * math.cos(a), cy + ry * r * math.sin(a)))
        if fill:
            d.polygon(pts, fill=shade)
        else:
            d.line(pts + [pts[0]], fill=shade, width=width)
    return downsample(img.rotate(rng.uniform(-30, 30), resample=Image.BILINEAR))


def texture(rng):
    img = Image.new('L', (CANVAS * 2, CANVAS * 2), 0)
    d = ImageDraw.Draw(img)
    kind = rng.choice(['stripes', 'checkers', 'dots', 'lines'])
    pitch = rng.uniform(8, 28)
    shade = int(rng.uniform(120, 255))
    n = int(CANVAS * 2 / pitch) + 1
    if kind == 'stripes':
        for i in range(n):
            d.rectangle((i * pitch, 0, i * pitch + pitch * rng.uniform(0.3, 0.6), CANVAS * 2), fill=shade)
    elif kind == 'checkers':
        for i in range(n):
            for j in range(n):
                if (i + j) % 2 == 0:
                    d.rectangle((i * pitch, j * pitch, (i + 1) * pitch, (j + 1) * pitch), fill=shade)
    elif kind == 'dots':
        r = pitch * rng.uniform(0.15, 0.35)
        for i in range(n):
            for j in range(n):
                d.ellipse((i * pitch - r, j * pitch - r, i * pitch + r, j * pitch + r), fill=shade)
    else:
        for _ in range(int(rng.uniform(4, 14))):
            d.line((rng.uniform(0, 2 * CANVAS), rng.uniform(0, 2 * CANVAS), rng.uniform(0, 2 * CANVAS), rng.uniform(0, 2 * CANVAS)),
                   fill=shade, width=int(rng.uniform(1, 3) * SCALE))
    img = img.rotate(rng.uniform(0, 180), resample=Image.BILINEAR)
    return downsample(img.crop((CANVAS // 2, CANVAS // 2, CANVAS // 2 + CANVAS, CANVAS // 2 + CANVAS)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('out')
    p.add_argument('--count', type=int, default=1000)
    p.add_argument('--seed', type=int, default=20261203)
    a = p.parse_args()
    makers = {name: (lambda rng, c=chars: glyph(rng, c)) for name, chars in SETS.items()}
    makers['shapes'] = shape
    makers['textures'] = texture
    for k, (name, make) in enumerate(makers.items()):
        folder = os.path.join(a.out, name)
        os.makedirs(folder, exist_ok=True)
        for i in range(a.count):
            rng = random.Random(a.seed * 1000003 + k * 100003 + i)
            make(rng).save(os.path.join(folder, f'{name}-{i:05d}.png'))
        print(f'{name}: {a.count} images in {folder}')


if __name__ == '__main__':
    main()
