/**
 * Reads the dynamic symbol table and DT_NEEDED entries of an ELF64
 * little-endian file without spawning nm or readelf: a module's exported
 * `NAME_module` record and its undefined symbols, and what httpd and its
 * libraries define. Only the section headers, .dynsym, .dynstr and .dynamic
 * are read, not the whole file (libc and libstdc++ are 2 MB each).
 */
import { promises as fs } from 'node:fs';

const SHT_DYNSYM = 11;
const SHT_DYNAMIC = 6;
const DT_NEEDED = 1;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;

export interface DynamicInfo {
  /** Symbols it defines for others (GLOBAL, WEAK or GNU_UNIQUE, with a section). */
  defined: Set<string>;
  /**
   * Symbols it needs from elsewhere; weak references are left out (nothing fails when they stay
   * unresolved).
   */
  undefined: string[];
  /** DT_NEEDED: the sonames of the libraries it was linked with. */
  needed: string[];
  /** DT_RUNPATH / DT_RPATH: where it asks the loader to look first (-Wl,-rpath). */
  runpath: string[];
}

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/**
 * Thrown for a file that is not an ELF64 little-endian file; callers that can do without the answer
 * catch it.
 */
export class NotElf64Error extends Error {}

async function readAt(fh: fs.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, offset);
  if (bytesRead !== length)
    throw new NotElf64Error(`truncated ELF file (wanted ${length} bytes at ${offset})`);
  return buf;
}

export async function readDynamic(file: string): Promise<DynamicInfo> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    if (bytesRead < 64 || head.readUInt32BE(0) !== 0x7f454c46)
      throw new NotElf64Error(`${file} is not an ELF file`);
    if (head[4] !== 2 || head[5] !== 1)
      throw new NotElf64Error(`${file} is not a 64-bit little-endian ELF file`);
    const shoff = Number(head.readBigUInt64LE(0x28));
    const shentsize = head.readUInt16LE(0x3a);
    const shnum = head.readUInt16LE(0x3c);
    const sh = await readAt(fh, shoff, shentsize * shnum);
    const sections: Section[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = i * shentsize;
      sections.push({
        type: sh.readUInt32LE(o + 4),
        offset: Number(sh.readBigUInt64LE(o + 0x18)),
        size: Number(sh.readBigUInt64LE(o + 0x20)),
        link: sh.readUInt32LE(o + 0x28),
        entsize: Number(sh.readBigUInt64LE(o + 0x38)),
      });
    }
    const strtabs = new Map<number, Buffer>();
    const strtab = async (i: number) => {
      let b = strtabs.get(i);
      if (!b) {
        const s = sections[i];
        b = s ? await readAt(fh, s.offset, s.size) : Buffer.alloc(0);
        strtabs.set(i, b);
      }
      return b;
    };
    const str = (b: Buffer, off: number) => b.toString('latin1', off, b.indexOf(0, off));
    const out: DynamicInfo = { defined: new Set(), undefined: [], needed: [], runpath: [] };
    for (const s of sections) {
      if (s.type === SHT_DYNSYM && s.entsize > 0) {
        const names = await strtab(s.link);
        const syms = await readAt(fh, s.offset, s.size);
        for (let o = s.entsize; o + s.entsize <= syms.length; o += s.entsize) {
          // entry 0 is the null symbol
          const nameOff = syms.readUInt32LE(o);
          const bind = syms[o + 4]! >> 4;
          const shndx = syms.readUInt16LE(o + 6);
          if (nameOff === 0) continue;
          if (shndx !== 0) {
            if (bind === STB_GLOBAL || bind === STB_WEAK || bind === STB_GNU_UNIQUE)
              out.defined.add(str(names, nameOff));
          } else if (bind === STB_GLOBAL) {
            out.undefined.push(str(names, nameOff));
          }
        }
      } else if (s.type === SHT_DYNAMIC && s.entsize > 0) {
        const names = await strtab(s.link);
        const dyn = await readAt(fh, s.offset, s.size);
        for (let o = 0; o + 16 <= dyn.length; o += s.entsize) {
          const tag = dyn.readBigInt64LE(o);
          if (tag === 0n) break;
          const value = () => str(names, Number(dyn.readBigUInt64LE(o + 8)));
          if (tag === BigInt(DT_NEEDED)) out.needed.push(value());
          else if (tag === BigInt(DT_RUNPATH) || tag === BigInt(DT_RPATH))
            out.runpath.push(value());
        }
      }
    }
    return out;
  } finally {
    await fh.close();
  }
}
