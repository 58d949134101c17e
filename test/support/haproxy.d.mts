import type { ChildProcess } from 'node:child_process';

export declare function freeFixedPort(): Promise<number>;

export interface RunningHaproxy {
  origin: string;
  port: number;
  pid: number | undefined;
  statsSocket: string;
  /** Everything HAProxy wrote so far (server state changes, alerts). */
  output: () => string;
  stop: () => Promise<void>;
}

export declare function startHaproxy(nodePorts: readonly number[], spawnProcess?: (argv: string[]) => ChildProcess): Promise<RunningHaproxy>;
