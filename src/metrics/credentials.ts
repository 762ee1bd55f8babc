/**
 * Credentials for the Prometheus API, read from files (bearer token, basic-auth password) so
 * that they can be rotated without a restart, plus the scrubber that keeps every secret out of
 * reasons, errors and logs.
 *
 * A file is re-read when its identity (inode, size, mtime) changes, checked with one `stat`
 * per request, and in any case at least every `refreshMs` (60 s by default) so that edits that
 * keep size and mtime (rare, but possible with coarse clocks) are seen within a minute.
 */
import { readFile, stat } from 'node:fs/promises';
import { PrometheusError } from './errors.js';

export const DEFAULT_REFRESH_MS = 60_000;

/** One secret held in a file; `read()` returns the trimmed content, cached as described above. */
export class SecretFile {
  private cached: { value: string; signature: string; readAt: number } | undefined;

  constructor(
    /** The plan field, used in error messages: `bearerTokenFile`, `basicAuth.passwordFile`. */
    readonly field: string,
    readonly path: string,
    private readonly refreshMs = DEFAULT_REFRESH_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async read(): Promise<string> {
    let signature: string;
    try {
      const st = await stat(this.path);
      signature = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      throw this.unreadable(err);
    }
    const c = this.cached;
    if (c && c.signature === signature && this.now() - c.readAt < this.refreshMs) return c.value;
    let value: string;
    try {
      value = (await readFile(this.path, 'utf8')).trim();
    } catch (err) {
      throw this.unreadable(err);
    }
    if (value === '') {
      throw new PrometheusError(`prometheus.${this.field} ${this.path} is empty`, { kind: 'credentials' });
    }
    this.cached = { value, signature, readAt: this.now() };
    return value;
  }

  /** The last value read, if any (for scrubbing messages; never for sending). */
  get lastValue(): string | undefined {
    return this.cached?.value;
  }

  private unreadable(err: unknown): PrometheusError {
    // Only the error code: an fs error message holds nothing secret, but the code is enough.
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    return new PrometheusError(`cannot read prometheus.${this.field} ${this.path}: ${why}`, { kind: 'credentials' });
  }
}

export interface CredentialsConfig {
  headers?: Record<string, string>;
  bearerTokenFile?: string;
  basicAuth?: { username: string; passwordFile: string };
  refreshMs?: number;
}

/** Builds the request headers (extra headers + Authorization) and scrubs secrets from text. */
export class Credentials {
  private readonly token: SecretFile | undefined;
  private readonly password: SecretFile | undefined;
  private readonly username: string | undefined;
  private readonly extra: Record<string, string>;

  constructor(cfg: CredentialsConfig) {
    this.extra = { ...(cfg.headers ?? {}) };
    if (cfg.bearerTokenFile) this.token = new SecretFile('bearerTokenFile', cfg.bearerTokenFile, cfg.refreshMs);
    if (cfg.basicAuth) {
      this.username = cfg.basicAuth.username;
      this.password = new SecretFile('basicAuth.passwordFile', cfg.basicAuth.passwordFile, cfg.refreshMs);
    }
  }

  /** Headers for one request; throws a `credentials` PrometheusError when a file is unreadable. */
  async headers(): Promise<Record<string, string>> {
    const out: Record<string, string> = { ...this.extra };
    if (this.token) out.Authorization = `Bearer ${await this.token.read()}`;
    else if (this.password) {
      const basic = Buffer.from(`${this.username}:${await this.password.read()}`).toString('base64');
      out.Authorization = `Basic ${basic}`;
    }
    return out;
  }

  /**
   * Replaces every known secret (token, password, their encoded Authorization forms, header
   * values) in `text` with `[redacted]`. Defence in depth: rollgate never puts them in a
   * message, but an upstream proxy might echo a header into its error body.
   */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets()) out = out.split(secret).join('[redacted]');
    return out;
  }

  private secrets(): string[] {
    const list: string[] = [];
    const token = this.token?.lastValue;
    if (token) list.push(token);
    const password = this.password?.lastValue;
    if (password) {
      list.push(Buffer.from(`${this.username}:${password}`).toString('base64'), password);
    }
    // Very short header values ("1") would shred ordinary text; they are not secrets anyway.
    for (const v of Object.values(this.extra)) if (v.length >= 4) list.push(v);
    return list.sort((a, b) => b.length - a.length);
  }
}
