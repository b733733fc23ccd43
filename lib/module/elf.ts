/**
 * Reads the dynamic symbol table of an ELF64 little-endian shared object, to
 * check that a module exports its `NAME_module` record without spawning nm.
 */
import { promises as fs } from 'node:fs';

const SHT_DYNSYM = 11;

export async function exportedSymbols(file: string): Promise<Set<string>> {
  const buf = await fs.readFile(file);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 0x18)),
      size: Number(buf.readBigUInt64LE(o + 0x20)),
      link: buf.readUInt32LE(o + 0x28),
      entsize: Number(buf.readBigUInt64LE(o + 0x38)),
    };
  };
  const names = new Set<string>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_DYNSYM || s.entsize === 0) continue;
    const strtab = section(s.link);
    for (let o = s.offset; o + s.entsize <= s.offset + s.size; o += s.entsize) {
      const nameOff = buf.readUInt32LE(o);
      const info = buf[o + 4]!;
      const shndx = buf.readUInt16LE(o + 6);
      const bind = info >> 4;
      if (shndx === 0 || (bind !== 1 && bind !== 2)) continue; // undefined, or not GLOBAL/WEAK
      const start = strtab.offset + nameOff;
      const end = buf.indexOf(0, start);
      names.add(buf.toString('latin1', start, end));
    }
  }
  return names;
}
