export declare const HAPROXY_PATH: string;
export declare const BEHIND_BALANCER_ENV: Readonly<Record<string, string>>;
export declare function renderHaproxyConfig(options: { bind: string; nodes: readonly string[]; statsSocket: string }): string;
