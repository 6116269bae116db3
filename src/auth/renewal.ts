/**
 * When temporary credentials are renewed: before a request, once less than a quarter of their
 * lifetime is left, but never later than 10 minutes before they expire (contract: *Long runs*).
 * With IAM's 3600 s that is 10 minutes before expiry; with 900 s, 225 s before.
 */
const MAX_RENEWAL_MARGIN_MS = 10 * 60 * 1000;

/** How long before expiry credentials obtained at `obtainedAt` are renewed. */
export function renewalMarginMs(obtainedAt: number, expiresAt: number): number {
  const lifetime = Math.max(0, expiresAt - obtainedAt);
  return Math.min(lifetime / 4, MAX_RENEWAL_MARGIN_MS);
}

/** The moment from which a request renews the credentials first. */
export function renewAt(obtainedAt: number, expiresAt: number): number {
  return expiresAt - renewalMarginMs(obtainedAt, expiresAt);
}

export function needsRenewal(now: number, obtainedAt: number, expiresAt: number): boolean {
  return now >= renewAt(obtainedAt, expiresAt);
}
