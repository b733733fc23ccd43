/**
 * Which server root this process's command acted on, and why: set by
 * requireServerRoot (lib/httpd/server-root.ts), read by commands/index.ts,
 * which says it (a line on stderr when it is the system's fallback, and
 * `serverRootFrom` under --json). A module of its own, importing nothing, so
 * that index.ts can read it without loading the server-root code.
 */

/** Where the server root came from: what --json calls serverRootFrom. */
export type ServerRootFrom = 'option' | 'env' | 'project' | 'system';

export interface ServerRootChoice {
  path: string;
  from: ServerRootFrom;
  /** In words, for the line that says which root was chosen. */
  why: string;
}

let chosen: (ServerRootChoice & { root: string }) | undefined;

export function setChosenServerRoot(c: ServerRootChoice & { root: string }): void {
  chosen = c;
}

export function chosenServerRoot(): (ServerRootChoice & { root: string }) | undefined {
  return chosen;
}
