/**
 * What a health status below 500 means when it is not 2xx/3xx. ctl calls a
 * server "up" when its health URL answers at all without a server error, and
 * that is right (httpd runs and answers); but a `/` that answers 403 is a
 * server nobody can browse, and saying nothing of it leaves the user to find
 * out from a browser. The note names the code and its usual causes.
 */
import { apxsCommand } from '../core/command-hint.js';

export function healthNote(status: number | undefined, serverRoot: string): string | undefined {
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const check = `\`${apxsCommand('vhost check', { serverRoot })}\``;
  if (status === 403) {
    return (
      '403 Forbidden: httpd runs, but refuses this URL: no <Directory> grants ' +
      'its DocumentRoot (Require all granted; Allow from all before 2.4), or ' +
      `the directory has no index file and Indexes is off. ${check} names the ` +
      'first; the error log says which (AH01630 or AH01276 on 2.4).'
    );
  }
  if (status === 404)
    return (
      '404 Not Found: httpd runs, but has no file for this URL: its DocumentRoot is ' +
      `missing or has no index file. ${check} says if the DocumentRoot is missing.`
    );
  if (status === 401)
    return (
      '401 Unauthorized: httpd runs, and asks for a login on this URL (an Auth* ' +
      '/ Require valid-user block); pass --url for a URL that needs none.'
    );
  return `${status}: httpd runs, but answers this URL with a client error; the error log says why.`;
}
