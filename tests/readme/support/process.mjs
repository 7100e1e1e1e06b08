// A command started like one typed into a terminal: its own process group,
// so that an interrupt reaches every process of it, as Ctrl-C does.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** Whether `port` on 127.0.0.1 can be listened on. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Start `command` as a terminal's shell runs a typed command, collecting its
 * output lines (stdout and stderr): parsed by `sh`, which then `exec`s it, so
 * the command leads its own process group and its exit status is the one a
 * person would see (a `sh -c` left waiting in between would die of the
 * interrupt itself).
 */
export function startCommand(command, { cwd, env }) {
  const child = spawn('sh', ['-c', `exec ${command}`], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = new Set();
  let exit = null;
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      for (const w of waiters) w();
      resolve(exit);
    }),
  );
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
      for (const w of waiters) w();
    });
  }
  const tail = (n) => lines.slice(-n).join('\n');
  return {
    lines,
    tail,
    /** Wait for an output line matching `re`; fail with the output's tail on exit or timeout. */
    waitLine(re, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => re.test(l));
          if (line !== undefined) return finish(() => resolve(line));
          if (exit) finish(() => reject(new Error(`\`${command}\` exited (${JSON.stringify(exit)}) before printing ${re}; its last lines:\n${tail(40)}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`\`${command}\` printed no line matching ${re} within ${ms / 1000} s; its last lines:\n${tail(40)}`))),
          ms,
        );
        const finish = (f) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    /** Ctrl-C: SIGINT to the whole process group; resolves with the exit status. */
    async interrupt(ms = 30000) {
      if (exit) return exit;
      process.kill(-child.pid, 'SIGINT');
      const timer = new Promise((resolve) => setTimeout(() => resolve({ timeout: ms }), ms));
      return Promise.race([exited, timer]);
    },
    kill(signal) {
      if (exit) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    },
  };
}
