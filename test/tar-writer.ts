/** A minimal ustar writer for tests: archives node-tar would never create (../ paths, links outside). */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev' | 'blockdev';
  content?: string;
  linkname?: string;
}

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) =>
    h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const octal = (n: number, len: number) =>
    put(n.toString(8).padStart(len - 1, '0') + '\0', 0, 0) ||
    n.toString(8).padStart(len - 1, '0') + '\0';
  put(e.name, 0, 100);
  put(octal(e.type === 'dir' ? 0o755 : 0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
  put('        ', 148, 8);
  put(
    { file: '0', dir: '5', symlink: '2', hardlink: '1', chardev: '3', blockdev: '4', fifo: '6' }[
      e.type ?? 'file'
    ],
    156,
    1,
  );
  if (e.linkname) put(e.linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

export function makeTarGz(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.type === undefined || e.type === 'file' ? (e.content ?? '') : '');
    parts.push(header(e, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return gzipSync(Buffer.concat(parts));
}
