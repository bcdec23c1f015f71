/** The programs issue 16 sets browser bundle budgets for (see size-programs.mjs). */
export declare const SIZE_PROGRAMS: Readonly<{
  'service-twins': string;
  'service-registry': string;
  device: string;
}>;

/** Bundles a program for browsers from the built packages: minified code and gzipped bytes. */
export declare function browserBundle(source: string): Promise<{ code: string; gzipped: number }>;
