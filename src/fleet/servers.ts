/** A server the run chose, and CPH's server states in words (the listed servers and models: huawei/types.ts). */

/** A server the run chose, and how: an id given, or a name that matched a pattern. */
export interface ChosenServer {
  id: string;
  /** From ListCloudPhoneServers when it was read, else null. */
  name: string | null;
  given: boolean;
}

/** What the server states of huawei-api.md mean, in words a person understands. */
const STATES: Record<number, string> = {
  0: 'being created',
  1: 'being created',
  2: 'abnormal',
  3: 'being created',
  4: 'being created',
  5: 'running',
  8: 'frozen',
  10: 'shut down',
  11: 'shutting down',
  12: 'failed to shut down',
  13: 'starting',
};

/** `shut down (status 10)`; an undocumented status is named as such. */
export function describeState(status: number): string {
  return `${STATES[status] ?? 'in an unknown state'} (status ${status})`;
}

export const RUNNING = 5;
