/** Runs task(0 … total-1) with `concurrency` workers, progress on stderr when it is a terminal; returns seconds. */
export async function runPool(total: number, concurrency: number, task: (i: number) => Promise<void>, label: string): Promise<number> {
  const tty = process.stderr.isTTY;
  let next = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        await task(i);
        if (tty && (++done % 250 === 0 || done === total)) process.stderr.write(`\r\x1b[K${label}: ${done}/${total}`);
      }
    }),
  );
  if (tty) process.stderr.write('\r\x1b[K');
  return (performance.now() - started) / 1000;
}
