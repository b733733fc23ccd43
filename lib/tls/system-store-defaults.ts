/**
 * Debian's system trust store: where `tls trust` puts the CA and where update-ca-certificates
 * writes the bundle. Its own module: the command tree names these paths in --help without loading
 * the trust code.
 */
export const DEFAULT_SYSTEM_STORE = {
  localCertsDir: '/usr/local/share/ca-certificates',
  etcCertsDir: '/etc/ssl/certs',
} as const;
