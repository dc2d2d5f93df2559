import { chmodSync, lstatSync, mkdirSync } from 'node:fs';

/**
 * Creates the root of the session directories, private to this user (0700), and refuses a root
 * that another user owns or that is a symlink: the default root under /tmp has a predictable
 * name, and whoever creates it first could otherwise read every session's screenshots and files.
 */
export function prepareOutputRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const stat = lstatSync(root);
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw new Error(`--output-dir ${root} is not a plain directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new Error(`--output-dir ${root} belongs to user ${stat.uid}, not to this server's user ${uid}: choose another --output-dir`);
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(root, 0o700);
}
