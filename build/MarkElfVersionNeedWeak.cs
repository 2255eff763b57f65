// Marks named version needs of an ELF64 shared object weak (see NativeRepair.targets for why).
// Reads the section headers, finds SHT_GNU_verneed, walks its Verneed/Vernaux chains and sets
// VER_FLG_WEAK on every Vernaux whose name is listed. Idempotent; files it cannot parse are errors.
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class MarkElfVersionNeedWeak : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionNames { get; set; } = "";

    public override bool Execute()
    {
        var names = VersionNames.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries)
            .Select(n => n.Trim()).ToArray();
        foreach (var item in Files)
        {
            string path = item.GetMetadata("FullPath");
            try
            {
                int changed = Repair(path, names, out int alreadyWeak);
                Log.LogMessage(MessageImportance.Normal,
                    $"{path}: {changed} version need(s) marked weak, {alreadyWeak} already weak.");
            }
            catch (Exception e)
            {
                Log.LogError($"Cannot repair version needs of '{path}': {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static int Repair(string path, string[] names, out int alreadyWeak)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian ELF64 file");

        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        ushort shentsize = BitConverter.ToUInt16(elf, 0x3A);
        ushort shnum = BitConverter.ToUInt16(elf, 0x3C);
        int changed = 0;
        alreadyWeak = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = checked((long)shoff + (long)i * shentsize);
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
            uint link = BitConverter.ToUInt32(elf, (int)sh + 0x28);
            uint count = BitConverter.ToUInt32(elf, (int)sh + 0x2C);
            long strSh = checked((long)shoff + (long)link * shentsize);
            long strOffset = (long)BitConverter.ToUInt64(elf, (int)strSh + 0x18);

            long vn = offset;
            for (uint n = 0; n < count; n++)
            {
                ushort cnt = BitConverter.ToUInt16(elf, (int)vn + 2);
                uint aux = BitConverter.ToUInt32(elf, (int)vn + 8);
                uint next = BitConverter.ToUInt32(elf, (int)vn + 12);
                long vna = vn + aux;
                for (ushort a = 0; a < cnt; a++)
                {
                    ushort flags = BitConverter.ToUInt16(elf, (int)vna + 4);
                    uint nameOff = BitConverter.ToUInt32(elf, (int)vna + 8);
                    string name = ReadCString(elf, strOffset + nameOff);
                    if (names.Contains(name))
                    {
                        if ((flags & VerFlgWeak) != 0) alreadyWeak++;
                        else
                        {
                            BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)vna + 4);
                            changed++;
                        }
                    }
                    vna += BitConverter.ToUInt32(elf, (int)vna + 12);
                }
                if (next == 0) break;
                vn += next;
            }
        }
        if (changed > 0)
        {
            string temp = path + ".repair";
            File.WriteAllBytes(temp, elf);
            File.Delete(path);
            File.Move(temp, path);
        }
        return changed;
    }

    private static string ReadCString(byte[] data, long start)
    {
        long end = start;
        while (end < data.Length && data[end] != 0) end++;
        return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
    }
}
