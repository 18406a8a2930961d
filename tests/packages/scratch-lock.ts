/**
 * A package-lock.json for a scratch project that depends on the packed tarballs, with every other
 * package pinned to the repository's lockfile entry (version, resolved URL, integrity). npm then
 * installs offline from the cache that the repository's own `npm ci` filled: with no lockfile it
 * would need the registry's package documents, which that cache does not hold.
 */

interface LockEntry {
  readonly version?: string;
  readonly link?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [key: string]: unknown;
}

export interface Tarball {
  /** The package.json of the packed package (as in the repository). */
  readonly manifest: LockEntry & { readonly name: string; readonly version: string };
  /** Its path relative to the scratch project, e.g. `../tarballs/edgeprop-sdk-0.1.0.tgz`. */
  readonly file: string;
}

/** The dependencies npm installs for an entry: regular, optional, and peers that are not optional. */
function installed(entry: LockEntry): string[] {
  const optionalPeers = new Set(Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
  return [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.optionalDependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
  ];
}

export function scratchLock(repoLock: { packages: Record<string, LockEntry> }, tarballs: readonly Tarball[]): object {
  const repo = repoLock.packages;
  const packages: Record<string, LockEntry> = {
    "": { name: "scratch", dependencies: Object.fromEntries(tarballs.map((t) => [t.manifest.name, `file:${t.file}`])) },
  };
  const ours = new Set(tarballs.map((t) => t.manifest.name));
  const queue: string[] = [];
  for (const { manifest, file } of tarballs) {
    const { name, version, dependencies, optionalDependencies, peerDependencies, peerDependenciesMeta, engines, bin, license } = manifest;
    packages[`node_modules/${name}`] = { version, resolved: `file:${file}`, ...{ license, engines, bin, dependencies, optionalDependencies, peerDependencies, peerDependenciesMeta } };
    queue.push(`node_modules/${name}`);
  }
  // Node's lookup through the repository's tree: from the requiring entry's folder up to the root.
  const locate = (from: string, name: string): string | undefined => {
    for (let dir = from; ; ) {
      const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
      if (repo[candidate] && !repo[candidate]!.link) return candidate;
      if (dir === "") return undefined;
      const parent = dir.lastIndexOf("/node_modules/");
      dir = parent < 0 ? "" : dir.slice(0, parent);
    }
  };
  while (queue.length > 0) {
    const from = queue.pop()!;
    for (const name of installed(packages[from]!)) {
      if (ours.has(name)) continue;
      const found = locate(from, name);
      if (found === undefined) throw new Error(`package-lock.json has no entry for ${name} (needed by ${from})`);
      if (packages[found]) continue;
      // Whether a package is a dev one is the repository's business; npm works it out again here.
      const { dev: _dev, devOptional: _devOptional, ...entry } = repo[found]!;
      // An entry without `resolved` would send npm to the registry for the tarball's address.
      const base = name.split("/").at(-1);
      packages[found] = { resolved: `https://registry.npmjs.org/${name}/-/${base}-${entry.version}.tgz`, ...entry };
      queue.push(found);
    }
  }
  return { name: "scratch", lockfileVersion: 3, requires: true, packages };
}
