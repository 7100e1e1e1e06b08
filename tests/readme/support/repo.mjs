// The repository as a newcomer gets it: the README's commands and a copy of
// the working tree.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The `index`-th command of the README's first `sh` block, without its
 * trailing `# comment`.
 */
export function readmeCommand(index) {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(text);
  if (!block) throw new Error('README.md has no ```sh block');
  const commands = block[1]
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
  if (index >= commands.length) throw new Error(`README.md's first sh block has ${commands.length} commands`);
  return commands[index];
}

/**
 * Copy what a clone of the working tree holds (tracked and new files, not the
 * ignored ones) into `dir`, keeping modification times so that cargo sees the
 * sources it has already built. Returns the number of files copied.
 */
export function copyWorkingTree(dir) {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  let n = 0;
  for (const rel of out.toString('utf8').split('\0')) {
    if (!rel) continue;
    const from = join(root, rel);
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue; // deleted, or a submodule
    const to = join(dir, rel);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { preserveTimestamps: true, verbatimSymlinks: true });
    n += 1;
  }
  return n;
}
