/**
 * The lock that keeps two processes from using one file store at once: `<file>.lock`, created
 * complete in one step (written to a temporary file, then hard-linked to its name, which fails
 * when the lock exists), holding the owner's pid, host and a random token.
 *
 * A lock whose process is gone (a crash, SIGKILL, a power cut) is stale and taken over. On the
 * same host that is decided by asking the OS whether the pid lives; a lock naming this very
 * process that this process does not hold is stale too, because containers start the device as
 * the same pid (often 1) every time. A lock from another host (a shared network drive) cannot be
 * checked and is never taken over. Taking over renames the stale lock aside first and checks it
 * moved the lock it judged stale, so two processes starting together cannot both win.
 *
 * @internal
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { StoreLockedError } from '../../../store/store-errors.js';
import { hasCode, type FileSystem } from './file-system.js';

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

/** Lock files this process holds, so a second client in the same process is refused too. */
const heldHere = new Set<string>();

function parseLock(text: string): LockContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockContent>;
    if (
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.token === 'string'
    )
      return value as LockContent;
  } catch {
    // Not a lock this code wrote.
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // not held here (checked first), so a pid reused after a restart
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return hasCode(error, 'EPERM'); // exists, owned by another user
  }
}

/** A held lock. */
export interface FileLock {
  /** Removes the lock file, if it is still ours. */
  release(): Promise<void>;
}

/**
 * Takes the lock of a store file.
 *
 * @param fs - the file operations
 * @param storePath - the store file (the lock is `<storePath>.lock`)
 * @returns the held lock
 * @throws {@link StoreLockedError} when a live process (or another client here) holds it
 */
export async function acquireFileLock(fs: FileSystem, storePath: string): Promise<FileLock> {
  const lockPath = `${storePath}.lock`;
  if (heldHere.has(lockPath))
    throw new StoreLockedError(
      storePath,
      process.pid,
      `another client in this process; lock file ${lockPath}`,
    );
  // Reserved before the first await, so a concurrent second client here is refused above.
  heldHere.add(lockPath);
  try {
    const mine: LockContent = { pid: process.pid, host: hostname(), token: randomUUID() };
    if (await createOrTakeOver(fs, storePath, lockPath, mine))
      return { release: () => release(fs, lockPath, mine.token) };
  } catch (error) {
    heldHere.delete(lockPath);
    throw error;
  }
  heldHere.delete(lockPath);
  throw new StoreLockedError(storePath, undefined, `lock file ${lockPath} keeps changing`);
}

async function createOrTakeOver(
  fs: FileSystem,
  storePath: string,
  lockPath: string,
  mine: LockContent,
): Promise<boolean> {
  const text = JSON.stringify(mine);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await tryCreate(fs, lockPath, text)) return true;
    let existing: string;
    try {
      existing = (await fs.readFile(lockPath)).toString('utf8');
    } catch (error) {
      if (hasCode(error, 'ENOENT')) continue; // released meanwhile
      throw error;
    }
    const holder = parseLock(existing);
    if (holder !== undefined && (holder.host !== mine.host || isAlive(holder.pid))) {
      const where = holder.host === mine.host ? '' : ` on host ${holder.host}`;
      throw new StoreLockedError(storePath, holder.pid, `lock file ${lockPath}${where}`);
    }
    await takeOver(fs, lockPath, existing);
  }
  return false;
}

async function tryCreate(fs: FileSystem, lockPath: string, text: string): Promise<boolean> {
  const temporary = `${lockPath}.${randomUUID()}.tmp`;
  await fs.writeNewFile(temporary, text);
  try {
    await fs.link(temporary, lockPath);
    return true;
  } catch (error) {
    if (hasCode(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await fs.unlink(temporary).catch(() => {});
  }
}

/** Moves a stale lock aside; puts it back when another process replaced it first. */
async function takeOver(fs: FileSystem, lockPath: string, stale: string): Promise<void> {
  const aside = `${lockPath}.${randomUUID()}.stale`;
  try {
    await fs.rename(lockPath, aside);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return; // someone else moved it
    throw error;
  }
  const moved = (await fs.readFile(aside)).toString('utf8');
  if (moved !== stale) await fs.link(aside, lockPath).catch(() => {}); // a fresh lock: restore it
  await fs.unlink(aside).catch(() => {});
}

async function release(fs: FileSystem, lockPath: string, token: string): Promise<void> {
  if (!heldHere.delete(lockPath)) return;
  try {
    const current = parseLock((await fs.readFile(lockPath)).toString('utf8'));
    if (current?.token === token) await fs.unlink(lockPath);
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw error;
  }
}
