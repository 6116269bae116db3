/**
 * Secrets must never reach a log line, output, summary or error message.
 * `core.setSecret` masks the runner's log, but not files such as
 * GITHUB_OUTPUT or GITHUB_STEP_SUMMARY, and a service may echo what it got
 * (the API gateway echoes its canonical request, token included), so every
 * text that came from outside is scrubbed with this before it is shown.
 */
export class Redactor {
  private readonly secrets: string[] = [];

  add(secret: string | undefined): void {
    // Very short values would blank out ordinary text; credentials are long.
    if (secret && secret.length >= 4 && !this.secrets.includes(secret)) {
      this.secrets.push(secret);
      this.secrets.sort((a, b) => b.length - a.length);
    }
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join('***');
      // A service may echo the value percent-encoded (canonical query or URI).
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join('***');
    }
    return out;
  }
}
