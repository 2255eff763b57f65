// A seeded generator of hostile image files, shared by the xunit decoder tests and the Pester fuzz test
// (which compiles it with Add-Type): declared sizes that wrap 32-bit arithmetic, decompression bombs,
// truncated giants, headers without image data, non-images, and seeded byte mutations of good files.
// It uses the base class library only.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;

namespace Fssd.Tests.Hostile
{
    /// <summary>What decoding a corpus file must give.</summary>
    public enum Expectation
    {
        /// <summary>A valid image: it must be scored.</summary>
        Good,

        /// <summary>It must be refused with an error naming it.</summary>
        Bad,

        /// <summary>Either, but exactly one result (a mutation may still be a valid image).</summary>
        Either,
    }

    public sealed class CorpusFile
    {
        public CorpusFile(string path, string kind, Expectation expect)
        {
            Path = path;
            Kind = kind;
            Expect = expect;
        }

        public string Path { get; }
        public string Kind { get; }
        public Expectation Expect { get; }

        public override string ToString() => $"{System.IO.Path.GetFileName(Path)} ({Kind}, {Expect})";
    }

    public static class HostileCorpus
    {
        /// <summary>
        /// Writes the corpus into <paramref name="folder"/>: crafted files, <paramref name="mutations"/> seeded
        /// mutations of the good files and of <paramref name="seedFiles"/> (other valid images, e.g. JPEG, WebP,
        /// GIF fixtures), and the good files themselves.
        /// </summary>
        public static List<CorpusFile> Write(string folder, int seed, int mutations, IEnumerable<string> seedFiles)
        {
            Directory.CreateDirectory(folder);
            var files = new List<CorpusFile>();
            var rng = new Random(seed);
            void Add(string name, string kind, Expectation expect, byte[] bytes)
            {
                string path = System.IO.Path.Combine(folder, name);
                File.WriteAllBytes(path, bytes);
                files.Add(new CorpusFile(path, kind, expect));
            }

            // Good images of our own making, and the caller's.
            var goods = new List<(string Name, byte[] Bytes)>
            {
                ("good-gray-28.png", Png(28, 28, 0, Gradient(28, 28, 1))),
                ("good-rgb-40x30.png", Png(40, 30, 2, Gradient(40, 30, 3))),
                ("good-palette-16.png", PalettePng(16, 16)),
                ("good-24bit-20.bmp", Bmp(20, 20)),
            };
            foreach (var f in seedFiles) goods.Add(("good-" + System.IO.Path.GetFileName(f), File.ReadAllBytes(f)));
            foreach (var (name, bytes) in goods) Add(name, "good", Expectation.Good, bytes);

            // Declared sizes that wrap 32-bit byte counts (65536 × 16385 × 4 = 2^32 + 2^18), or are simply huge.
            Add("wrap-65536x16385.png", "declared size wraps 32 bits", Expectation.Bad, PngHeaderOnly(65536, 16385, 6, 64));
            Add("huge-30000x30000.png", "declared size above the limit", Expectation.Bad, PngHeaderOnly(30000, 30000, 2, 64));
            Add("truncated-20000x20000.png", "truncated giant", Expectation.Bad, PngHeaderOnly(20000, 20000, 0, 8));
            Add("max-2147483647.png", "largest PNG dimensions", Expectation.Bad, PngHeaderOnly(int.MaxValue, int.MaxValue, 6, 16));
            Add("no-idat-64x64.png", "header without image data", Expectation.Bad, PngNoData(64, 64));
            Add("bad-crc.png", "chunk CRC wrong", Expectation.Either, Corrupt(Png(28, 28, 0, Gradient(28, 28, 5)), 29));
            Add("chunk-length-2g.png", "chunk length 2^31 - 1", Expectation.Bad, HugeChunk());

            // Decompression bombs: tiny files of zeros that declare many pixels. 12,000² needs 576 MB as
            // RGBA (above the default decode memory limit); 6,000² needs 144 MB and decodes.
            Add("bomb-12000x12000.png", "decompression bomb above the memory limit", Expectation.Bad, ZeroPng(12000, 12000));
            Add("bomb-6000x6000.png", "decompression bomb within the limits", Expectation.Good, ZeroPng(6000, 6000));
            Add("bomb-12000x12000.gif", "GIF LZW bomb above the memory limit", Expectation.Bad, Gif(12000, 12000, full: false));
            Add("gif-65535x65535.gif", "GIF at its largest size", Expectation.Bad, Gif(65535, 65535, full: false));

            // JPEG: a baseline header declaring 60,000²; a 14,000² one (decoded at 1/8 scale, then found truncated);
            // progressive headers whose coefficient buffers would be gigabytes.
            Add("jpeg-60000.jpg", "JPEG declared size above the limit", Expectation.Bad, JpegHeader(60000, 60000, progressive: false));
            Add("jpeg-14000-truncated.jpg", "truncated giant JPEG", Expectation.Bad, JpegHeader(14000, 14000, progressive: false));
            Add("jpeg-progressive-15000.jpg", "progressive JPEG above the memory limit", Expectation.Bad, JpegHeader(15000, 15000, progressive: true));
            Add("jpeg-progressive-6000.jpg", "progressive JPEG within the limit, no data", Expectation.Bad, JpegHeader(6000, 6000, progressive: true));

            // WebP headers: lossless and extended files at and above the limits.
            Add("webp-vp8l-16384.webp", "lossless WebP at its largest size", Expectation.Bad, WebPLossless(16384, 16384));
            Add("webp-vp8l-12000.webp", "lossless WebP canvas above the memory limit", Expectation.Bad, WebPLossless(12000, 12000));
            Add("webp-vp8x-16777216.webp", "extended WebP canvas of 2^24", Expectation.Bad, WebPExtended(1 << 24, 1 << 24));

            // BMP: huge and negative (top-down) heights, absurd bit depths.
            Add("bmp-100000.bmp", "BMP declared size above the limit", Expectation.Bad, BmpHeader(100000, -100000, 24, 16).Concat(new byte[16]).ToArray());
            Add("bmp-minint.bmp", "BMP height of int.MinValue", Expectation.Bad, BmpHeader(16, int.MinValue, 24, 16).Concat(new byte[16]).ToArray());
            Add("bmp-bpp-999.bmp", "BMP with 999 bits per pixel", Expectation.Bad, BmpHeader(16, 16, 999, 16).Concat(new byte[16]).ToArray());

            // ICO whose only entry points far outside the file.
            Add("ico-bad-offset.ico", "ICO entry beyond the file", Expectation.Bad, Ico());

            // Not images at all.
            Add("text.png", "text named .png", Expectation.Bad, Encoding.UTF8.GetBytes("this is not an image\n"));
            Add("empty.png", "empty file", Expectation.Bad, Array.Empty<byte>());
            Add("random.jpg", "random bytes", Expectation.Bad, RandomBytes(rng, 4096));
            Add("png-signature-only.png", "PNG signature only", Expectation.Bad, PngSignature.ToArray());

            // Seeded mutations of every good file: bit flips, truncations, insertions, length fields.
            for (int i = 0; i < mutations; i++)
            {
                var (name, bytes) = goods[i % goods.Count];
                var (mutated, how) = Mutate(bytes, rng);
                Add($"mutant-{i:D4}-{how}-{name}", "mutation: " + how, Expectation.Either, mutated);
            }
            return files;
        }

        private static readonly byte[] PngSignature = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };

        private static byte[] Gradient(int width, int height, int channels)
        {
            var pixels = new byte[width * height * channels];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    for (int c = 0; c < channels; c++)
                        pixels[(y * width + x) * channels + c] = (byte)((x * 7 + y * 13 + c * 50) % 256);
            return pixels;
        }

        /// <summary>A valid PNG: color type 0 (gray, 1 byte a pixel) or 2 (RGB), filter 0 on every row.</summary>
        private static byte[] Png(int width, int height, byte colorType, byte[] pixels)
        {
            int bpp = colorType == 2 ? 3 : 1;
            var raw = new MemoryStream();
            for (int y = 0; y < height; y++)
            {
                raw.WriteByte(0);
                raw.Write(pixels, y * width * bpp, width * bpp);
            }
            return PngFile(width, height, colorType, Deflate(raw.ToArray()));
        }

        private static byte[] PalettePng(int width, int height)
        {
            var output = new MemoryStream();
            output.Write(PngSignature);
            WriteChunk(output, "IHDR", Ihdr(width, height, 3));
            var palette = new byte[16 * 3];
            for (int i = 0; i < palette.Length; i++) palette[i] = (byte)(i * 5);
            WriteChunk(output, "PLTE", palette);
            var raw = new MemoryStream();
            for (int y = 0; y < height; y++)
            {
                raw.WriteByte(0);
                for (int x = 0; x < width; x++) raw.WriteByte((byte)((x + y) % 16));
            }
            WriteChunk(output, "IDAT", Deflate(raw.ToArray()));
            WriteChunk(output, "IEND", Array.Empty<byte>());
            return output.ToArray();
        }

        /// <summary>A PNG of zeros whose IDAT is streamed through the compressor row by row (little memory).</summary>
        private static byte[] ZeroPng(int width, int height)
        {
            var compressed = new MemoryStream();
            using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var row = new byte[width + 1];
                for (int y = 0; y < height; y++) z.Write(row);
            }
            return PngFile(width, height, 0, compressed.ToArray());
        }

        private static byte[] PngFile(int width, int height, byte colorType, byte[] idat)
        {
            var output = new MemoryStream();
            output.Write(PngSignature);
            WriteChunk(output, "IHDR", Ihdr(width, height, colorType));
            WriteChunk(output, "IDAT", idat);
            WriteChunk(output, "IEND", Array.Empty<byte>());
            return output.ToArray();
        }

        /// <summary>IHDR and the start of an IDAT, then the file ends: what a crafted 100-byte file looks like.</summary>
        private static byte[] PngHeaderOnly(int width, int height, byte colorType, int idatBytes)
        {
            var output = new MemoryStream();
            output.Write(PngSignature);
            WriteChunk(output, "IHDR", Ihdr(width, height, colorType));
            var data = Deflate(new byte[idatBytes]);
            WriteChunk(output, "IDAT", data);
            return output.ToArray();
        }

        private static byte[] PngNoData(int width, int height)
        {
            var output = new MemoryStream();
            output.Write(PngSignature);
            WriteChunk(output, "IHDR", Ihdr(width, height, 0));
            WriteChunk(output, "IEND", Array.Empty<byte>());
            return output.ToArray();
        }

        private static byte[] HugeChunk()
        {
            var output = new MemoryStream();
            output.Write(PngSignature);
            WriteChunk(output, "IHDR", Ihdr(32, 32, 0));
            output.Write(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF });
            output.Write(Encoding.ASCII.GetBytes("IDAT"));
            output.Write(new byte[64]);
            return output.ToArray();
        }

        private static byte[] Ihdr(int width, int height, byte colorType)
        {
            var ihdr = new byte[13];
            BigEndian(ihdr, 0, (uint)width);
            BigEndian(ihdr, 4, (uint)height);
            ihdr[8] = 8;
            ihdr[9] = colorType;
            return ihdr;
        }

        private static void WriteChunk(Stream output, string type, byte[] data)
        {
            var header = new byte[8];
            BigEndian(header, 0, (uint)data.Length);
            Encoding.ASCII.GetBytes(type, 0, 4, header, 4);
            output.Write(header);
            output.Write(data);
            uint crc = Crc32(header.AsSpan(4, 4), 0xFFFFFFFF);
            crc = Crc32(data, crc) ^ 0xFFFFFFFF;
            var tail = new byte[4];
            BigEndian(tail, 0, crc);
            output.Write(tail);
        }

        private static byte[] Deflate(byte[] data)
        {
            var output = new MemoryStream();
            using (var z = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true)) z.Write(data);
            return output.ToArray();
        }

        private static uint[]? _crcTable;

        private static uint Crc32(ReadOnlySpan<byte> data, uint crc)
        {
            var table = _crcTable ??= Enumerable.Range(0, 256).Select(n =>
            {
                uint c = (uint)n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
                return c;
            }).ToArray();
            foreach (byte b in data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }

        private static void BigEndian(byte[] buffer, int offset, uint value)
        {
            buffer[offset] = (byte)(value >> 24);
            buffer[offset + 1] = (byte)(value >> 16);
            buffer[offset + 2] = (byte)(value >> 8);
            buffer[offset + 3] = (byte)value;
        }

        private static byte[] Corrupt(byte[] bytes, int offset)
        {
            var copy = (byte[])bytes.Clone();
            copy[offset] ^= 0xFF;
            return copy;
        }

        /// <summary>A GIF whose image descriptor fills the screen; its LZW data is a few codes, then the file ends.</summary>
        private static byte[] Gif(int width, int height, bool full)
        {
            var output = new MemoryStream();
            output.Write(Encoding.ASCII.GetBytes("GIF89a"));
            output.Write(new[] { (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), (byte)0x80, (byte)0, (byte)0 });
            output.Write(new byte[] { 0, 0, 0, 255, 255, 255 });
            output.WriteByte(0x2C);
            output.Write(new byte[] { 0, 0, 0, 0, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0 });
            output.WriteByte(2);
            // One sub-block of codes: clear, then zeros.
            output.WriteByte(4);
            output.Write(new byte[] { 0x04, 0x00, 0x00, 0x00 });
            if (full)
            {
                output.WriteByte(0);
                output.WriteByte(0x3B);
            }
            return output.ToArray();
        }

        /// <summary>SOI, a quantisation table, a frame header, a Huffman table, a scan header and a few bytes.</summary>
        private static byte[] JpegHeader(int width, int height, bool progressive)
        {
            var output = new MemoryStream();
            output.Write(new byte[] { 0xFF, 0xD8 });
            output.Write(new byte[] { 0xFF, 0xDB, 0x00, 0x43, 0x00 });
            for (int i = 0; i < 64; i++) output.WriteByte(1);
            output.Write(new byte[] { 0xFF, progressive ? (byte)0xC2 : (byte)0xC0, 0x00, 0x11, 0x08,
                (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x03,
                0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00 });
            // A DC table with one code of length 1 for category 0.
            output.Write(new byte[] { 0xFF, 0xC4, 0x00, 0x14, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00 });
            output.Write(new byte[] { 0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00 });
            output.Write(new byte[] { 0x00, 0x00, 0x00, 0x00 });
            return output.ToArray();
        }

        private static byte[] WebPLossless(int width, int height)
        {
            var payload = new byte[10];
            payload[0] = 0x2F;
            uint bits = (uint)(width - 1) | ((uint)(height - 1) << 14);
            payload[1] = (byte)bits;
            payload[2] = (byte)(bits >> 8);
            payload[3] = (byte)(bits >> 16);
            payload[4] = (byte)(bits >> 24);
            return Riff("VP8L", payload);
        }

        private static byte[] WebPExtended(int width, int height)
        {
            var payload = new byte[10];
            payload[0] = 0x10;
            int w = width - 1, h = height - 1;
            payload[4] = (byte)w;
            payload[5] = (byte)(w >> 8);
            payload[6] = (byte)(w >> 16);
            payload[7] = (byte)h;
            payload[8] = (byte)(h >> 8);
            payload[9] = (byte)(h >> 16);
            return Riff("VP8X", payload);
        }

        private static byte[] Riff(string fourcc, byte[] payload)
        {
            var output = new MemoryStream();
            output.Write(Encoding.ASCII.GetBytes("RIFF"));
            output.Write(BitConverter.GetBytes(4 + 8 + payload.Length));
            output.Write(Encoding.ASCII.GetBytes("WEBP"));
            output.Write(Encoding.ASCII.GetBytes(fourcc));
            output.Write(BitConverter.GetBytes(payload.Length));
            output.Write(payload);
            return output.ToArray();
        }

        private static byte[] Bmp(int width, int height)
        {
            int stride = (width * 3 + 3) & ~3;
            var pixels = new byte[stride * height];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    pixels[y * stride + 3 * x] = (byte)(x * 12);
                    pixels[y * stride + 3 * x + 1] = (byte)(y * 12);
                    pixels[y * stride + 3 * x + 2] = (byte)((x + y) * 6);
                }
            var header = BmpHeader(width, height, 24, pixels.Length);
            return header.Concat(pixels).ToArray();
        }

        private static byte[] BmpHeader(int width, int height, int bitsPerPixel, int imageBytes)
        {
            var header = new byte[54];
            header[0] = (byte)'B';
            header[1] = (byte)'M';
            BitConverter.GetBytes(54 + imageBytes).CopyTo(header, 2);
            BitConverter.GetBytes(54).CopyTo(header, 10);
            BitConverter.GetBytes(40).CopyTo(header, 14);
            BitConverter.GetBytes(width).CopyTo(header, 18);
            BitConverter.GetBytes(height).CopyTo(header, 22);
            BitConverter.GetBytes((short)1).CopyTo(header, 26);
            BitConverter.GetBytes((short)bitsPerPixel).CopyTo(header, 28);
            BitConverter.GetBytes(imageBytes).CopyTo(header, 34);
            return header;
        }

        private static byte[] Ico()
        {
            var output = new MemoryStream();
            output.Write(new byte[] { 0, 0, 1, 0, 1, 0 });
            output.Write(new byte[] { 0, 0, 0, 0, 1, 0, 32, 0 });
            output.Write(BitConverter.GetBytes(1 << 30));
            output.Write(BitConverter.GetBytes(0x7FFF0000));
            output.Write(new byte[32]);
            return output.ToArray();
        }

        private static byte[] RandomBytes(Random rng, int length)
        {
            var bytes = new byte[length];
            rng.NextBytes(bytes);
            return bytes;
        }

        /// <summary>One seeded mutation: flips, a truncation, an insertion, or a 32-bit length field set to a large value.</summary>
        private static (byte[] Bytes, string How) Mutate(byte[] source, Random rng)
        {
            var bytes = (byte[])source.Clone();
            switch (rng.Next(5))
            {
                case 0:
                {
                    int flips = 1 + rng.Next(8);
                    for (int i = 0; i < flips; i++) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                    return (bytes, "flip");
                }
                case 1:
                    return (bytes.AsSpan(0, rng.Next(1, Math.Max(2, bytes.Length))).ToArray(), "truncate");
                case 2:
                {
                    int at = rng.Next(bytes.Length);
                    var insert = RandomBytes(rng, 1 + rng.Next(64));
                    return (bytes.Take(at).Concat(insert).Concat(bytes.Skip(at)).ToArray(), "insert");
                }
                case 3:
                {
                    // A header-sized field somewhere in the first 64 bytes: lengths, widths, heights live there.
                    int at = rng.Next(Math.Max(1, Math.Min(60, bytes.Length - 4)));
                    uint value = rng.Next(3) switch { 0 => 0xFFFFFFFF, 1 => 0x7FFFFFFF, _ => (uint)rng.Next() };
                    for (int k = 0; k < 4 && at + k < bytes.Length; k++) bytes[at + k] = (byte)(value >> (8 * (3 - k)));
                    return (bytes, "field");
                }
                default:
                {
                    int at = rng.Next(bytes.Length);
                    int length = Math.Min(bytes.Length - at, 1 + rng.Next(256));
                    rng.NextBytes(bytes.AsSpan(at, length));
                    return (bytes, "scramble");
                }
            }
        }
    }
}
