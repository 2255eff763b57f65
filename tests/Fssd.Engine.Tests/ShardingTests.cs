using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Fssd.Engine.Data;
using Xunit;

namespace Fssd.Engine.Tests;

public class ShardingTests
{
    private static readonly string Root = OperatingSystem.IsWindows() ? @"C:\data\photos" : "/data/photos";

    private static JsonElement Fixture() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "sharding", "shards.json"))).RootElement;

    /// <summary>Keys of a made-up photo archive: nested folders, spaces, non-ASCII names.</summary>
    private static List<string> ArchiveKeys(int count, int seed)
    {
        var random = new Random(seed);
        string[] words = { "2019", "2020", "holiday", "caf\u00e9", "IMG", "scan s", "\u5199\u771f", "a,b" };
        return Enumerable.Range(0, count)
            .Select(i => $"{words[random.Next(words.Length)]}/{words[random.Next(words.Length)]}/photo-{i:D6}.{(i % 3 == 0 ? "png" : "jpg")}")
            .ToList();
    }

    [Fact]
    public void Shards_are_those_Pythons_hashlib_computes_by_the_documented_rule()
    {
        var fixture = Fixture();
        int checkedCount = 0;
        foreach (var c in fixture.GetProperty("cases").EnumerateArray())
        {
            string key = c.GetProperty("key").GetString()!;
            foreach (var s in c.GetProperty("shards").EnumerateObject())
            {
                Assert.Equal(s.Value.GetInt32(), Sharding.ShardOf(key, int.Parse(s.Name, System.Globalization.CultureInfo.InvariantCulture)));
                checkedCount++;
            }
        }
        Assert.Equal(72, checkedCount);
    }

    [Fact]
    public void A_decomposed_name_as_macOS_writes_it_has_the_key_of_its_composed_spelling()
    {
        string nfd = Fixture().GetProperty("nfdSpelling").GetString()!;
        Assert.False(nfd.IsNormalized(NormalizationForm.FormC));
        Assert.Equal("caf\u00e9/cr\u00e8me br\u00fbl\u00e9e.jpg", Sharding.KeyFromRelative(nfd, '/'));
    }

    [Fact]
    public void Shards_are_disjoint_and_cover_the_listing_in_any_order()
    {
        var keys = ArchiveKeys(3000, 1);
        var files = keys.Select(k => Path.Combine(Root, k.Replace('/', Path.DirectorySeparatorChar))).ToList();
        foreach (int count in new[] { 1, 3, 8 })
        {
            Dictionary<string, int>? first = null;
            foreach (int seed in new[] { 0, 1, 2 })
            {
                var order = files.OrderBy(_ => Guid.NewGuid()).ToList();
                if (seed == 0) order = files.ToList();
                var seen = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int k = 0; k < count; k++)
                    foreach (var f in Sharding.Assign(order, Root, count, k))
                    {
                        Assert.Equal(k, f.Shard);
                        Assert.True(seen.TryAdd(f.Key, k), $"'{f.Key}' is in shards {(seen.TryGetValue(f.Key, out int o) ? o : -1)} and {k}");
                    }
                Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal), seen.Keys.OrderBy(k => k, StringComparer.Ordinal));
                first ??= seen;
                Assert.All(seen, p => Assert.Equal(first[p.Key], p.Value));
            }
        }
    }

    [Fact]
    public void Eight_shards_of_ten_thousand_files_differ_in_size_by_less_than_a_tenth()
    {
        var sizes = ArchiveKeys(10000, 2).GroupBy(k => Sharding.ShardOf(k, 8)).Select(g => g.Count()).ToList();
        Assert.Equal(8, sizes.Count);
        Assert.All(sizes, n => Assert.InRange(n, 1125, 1375));
    }

    [Fact]
    public void A_Windows_path_and_a_Linux_path_of_the_same_file_have_one_key()
    {
        string windows = Sharding.KeyFromRelative(@"2020\holiday\IMG 0001.jpg", '\\');
        string linux = Sharding.KeyFromRelative("2020/holiday/IMG 0001.jpg", '/');
        Assert.Equal("2020/holiday/IMG 0001.jpg", windows);
        Assert.Equal(linux, windows);
        Assert.Equal(Sharding.ShardOf(linux, 16), Sharding.ShardOf(windows, 16));
        Assert.Equal("a/b.png", Sharding.KeyFromRelative("./a/b.png", '/'));
    }

    [Fact]
    public void A_file_is_keyed_relative_to_the_root_and_a_file_outside_by_its_full_path()
    {
        string inside = Path.Combine(Root, "2020", "a.png");
        Assert.Equal("2020/a.png", Sharding.Key(inside, Root, out bool under));
        Assert.True(under);
        Assert.Equal("2020/a.png", Sharding.Key(inside, Root + Path.DirectorySeparatorChar, out _));
        string outside = Path.Combine(Path.GetDirectoryName(Root)!, "other", "b.png");
        string key = Sharding.Key(outside, Root, out under);
        Assert.False(under);
        Assert.Equal(Path.GetFullPath(outside).Replace(Path.DirectorySeparatorChar, '/'), key);
    }

    [Fact]
    public void On_Linux_a_backslash_inside_a_file_name_stays_part_of_the_key()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(@"odd\name.png", Sharding.Key(Path.Combine(Root, @"odd\name.png"), Root, out _));
    }

    [Fact]
    public void A_shard_that_does_not_exist_is_refused_with_the_valid_range()
    {
        var e = Assert.Throws<FssdShardException>(() => new ShardSpec(4, 4, Root));
        Assert.Contains("0 to 3", e.Message);
        Assert.Throws<FssdShardException>(() => Sharding.Assign(new[] { "a" }, Root, 2, 2).ToList());
    }

    [Fact]
    public void A_listing_file_from_Windows_names_the_same_files_on_any_system()
    {
        string folder = Path.Combine(Path.GetTempPath(), "fssd-listing-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string listing = Path.Combine(folder, "listing.txt");
            string absolute = Path.Combine(Root, "abs", "c.png");
            File.WriteAllText(listing, "2020\\a.png\r\n\r\n./2021/b.PNG\r\n" + absolute + "\r\nnotes.txt\r\n", new UTF8Encoding(true));
            var all = FileListing.ListingFile(listing, Root, null).ToList();
            Assert.Equal(new[] { Path.Combine(Root, "2020", "a.png"), Path.Combine(Root, "2021", "b.PNG"), absolute, Path.Combine(Root, "notes.txt") }, all);
            var images = FileListing.ListingFile(listing, Root, new[] { "*.png" }).Select(f => Sharding.Key(f, Root, out _)).ToList();
            Assert.Equal(new[] { "2020/a.png", "2021/b.PNG", "abs/c.png" }, images);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Fact]
    public void A_folder_lists_every_file_below_it_that_matches_and_leaves_hidden_ones_out()
    {
        string folder = Path.Combine(Path.GetTempPath(), "fssd-folder-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(folder, "x", "y"));
        try
        {
            foreach (var f in new[] { "a.png", "x/b.PNG", "x/y/c.png", "x/y/d.txt" }) File.WriteAllText(Path.Combine(folder, f), "");
            string hidden = Path.Combine(folder, "x", ".hidden.png");
            File.WriteAllText(hidden, "");
            if (OperatingSystem.IsWindows()) File.SetAttributes(hidden, FileAttributes.Hidden);
            var keys = FileListing.Folder(folder, new[] { "*.png" }).Select(f => Sharding.Key(f, folder, out _)).OrderBy(k => k, StringComparer.Ordinal);
            Assert.Equal(new[] { "a.png", "x/b.PNG", "x/y/c.png" }, keys);
            Assert.Equal(4, FileListing.Folder(folder, null).Count());
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
