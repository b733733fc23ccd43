import { ApxsError } from '../core/errors.js';
import { runCapture } from '../core/run.js';

export type Series = '1.3' | '2.0' | '2.2' | '2.4';

export function parseSeries(v: string): Series {
  const m = /^(1\.3|2\.0|2\.2|2\.4)(\.\d+)?$/.exec(v.trim());
  if (!m)
    throw new ApxsError('USAGE', `bad httpd version ${JSON.stringify(v)}: expected 2.2, 2.4, …`);
  return m[1] as Series;
}

/** "2.4.68" -> "2.4" (no check: the caller's pattern already matched a known series). */
export function seriesOfVersion(version: string): Series {
  return version.split('.').slice(0, 2).join('.') as Series;
}

/** The series of an httpd binary, from `httpd -v` ("Server version: Apache/2.4.71 (Debian)"). */
export async function httpdSeries(
  httpd: string,
  env: Record<string, string> = {},
): Promise<{ series: Series; version: string }> {
  const res = await runCapture(httpd, ['-v'], { env });
  const m = /Apache\/(\d+\.\d+)\.(\d+)/.exec(res.stdout);
  if (!m)
    throw new ApxsError('TOOL_MISSING', `could not tell the version of ${httpd}`, {
      details: res.all.split('\n').slice(0, 3),
    });
  return { series: parseSeries(m[1]!), version: `${m[1]}.${m[2]}` };
}
