/**
 * The two kinds of failure the action reports. Both carry everything the final
 * `core.setFailed` line needs, so no caller has to re-derive hints.
 */

export interface InputProblem {
  /** The input's name as in action.yml (`server-ids`, `bucket`, …). */
  input: string;
  /** What is wrong, never including the value of a secret. */
  message: string;
}

/** Bad user input, found before any network request. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(readonly problems: InputProblem[]) {
    super(problems.map((p) => `input '${p.input}': ${p.message}`).join('\n'));
  }
}

export type ServiceName = 'CPH' | 'IAM' | 'OBS';

export interface ServiceErrorInit {
  service: ServiceName;
  /** Operation name, e.g. `PushShareFiles`, `UploadPart`. */
  operation: string;
  /** HTTP status, absent for network errors. */
  status?: number;
  /** The service's error code (`APIG.0301`, `CPS.0005`, `AccessDenied`, …). */
  code?: string;
  requestId?: string;
  /** The service's own message. */
  detail: string;
  /** What the user should check next. */
  hint?: string;
  cause?: unknown;
}

/** A request to CPH, IAM or OBS that failed for good (after any retries). */
export class ServiceError extends Error {
  override name = 'ServiceError';
  readonly service: ServiceName;
  readonly operation: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly detail: string;
  readonly hint: string | undefined;

  constructor(init: ServiceErrorInit) {
    const parts = [
      init.status === undefined ? undefined : `HTTP ${init.status}`,
      init.code ? `error code ${init.code}` : undefined,
      init.requestId ? `request id ${init.requestId}` : undefined,
    ].filter(Boolean);
    super(
      `${init.service} ${init.operation} failed: ${init.detail}${parts.length ? ` (${parts.join(', ')})` : ''}`,
      {
        cause: init.cause,
      },
    );
    this.service = init.service;
    this.operation = init.operation;
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.detail = init.detail;
    this.hint = init.hint;
  }
}

/**
 * Keyless sign-in failed outside any IAM answer: no ID token in this job, GitHub's token service
 * refused, or IAM answered without the credentials. IAM's own refusals are ServiceErrors.
 */
export class SignInError extends Error {
  override name = 'SignInError';
  constructor(
    message: string,
    /** What the user should check next. */
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The run was cancelled (SIGINT/SIGTERM from the runner). It is the reason of the run's
 * AbortSignal, so every request, wait and pool that honours the signal ends with it.
 */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(readonly signalName: string) {
    super(`cancelled (${signalName})`);
  }
}

/** Ends the run with one `setFailed` line once the report is complete; the message is that line. */
export class RunFailure extends Error {
  override name = 'RunFailure';
}

/** Jobs were still running when `wait-timeout` passed; the message says which, and what to do. */
export class WaitTimeoutError extends RunFailure {
  override name = 'WaitTimeoutError';
  constructor(
    message: string,
    /** How many jobs were still running. */
    readonly running: number,
  ) {
    super(message);
  }
}
