/**
 * Progress of a grid of runs on stderr: on a terminal, one cli-progress bar per run (epochs ×
 * batches) with the batch loss, target items per second and the ETA, left on screen when the run
 * is done; elsewhere (a pipe, a CI log) or when asked to be quiet (`--json`), plain lines —
 * one per epoch, or only one per run. stdout is never touched, so `--json` output stays parseable.
 *
 * Training runs synchronously on the main thread, so the bar redraws from update() itself
 * (cli-progress's synchronousUpdate, throttled to `fps`), not from a timer.
 */
import cliProgress from 'cli-progress';
import type { CompareEvent } from '../compare/index.js';

export type ProgressMode = 'bar' | 'lines' | 'runs';

export interface ProgressOptions {
  /** 'bar' (terminal), 'lines' (one line per epoch) or 'runs' (one line per run); default: bar on a TTY, else lines */
  mode?: ProgressMode;
  stream?: NodeJS.WriteStream;
}

/** Bars on a terminal unless `quiet`; lines per epoch on a pipe; one line per run when quiet. */
export function progressMode(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (quiet) return 'runs';
  return stream.isTTY === true ? 'bar' : 'lines';
}

/** An onEvent handler for compare() that shows the progress of every run. */
export function gridProgress(o: ProgressOptions = {}): { onEvent: (e: CompareEvent) => void; stop: () => void } {
  const stream = o.stream ?? process.stderr;
  const mode = o.mode ?? progressMode(false, stream);
  const write = (s: string): void => {
    stream.write(s);
  };
  let bar: cliProgress.SingleBar | null = null;
  let label = '';
  let started = 0;
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  const onEvent = (e: CompareEvent): void => {
    if (e.kind === 'skip') {
      write(`[${e.index}/${e.total}] ${e.key}: finished before, reused\n`);
    } else if (e.kind === 'complete') {
      write(`[${e.index}/${e.total}] ${e.key}: evaluating ${e.protocols.join(', ')} from its checkpoint\n`);
    } else if (e.kind === 'start') {
      label = `[${e.index}/${e.total}] ${e.model} ${e.method}${e.total > 1 ? ` seed ${e.seed}` : ''}`;
      started = performance.now();
      if (mode !== 'bar') write(`${label}: training\n`);
    } else if (e.kind === 'progress') {
      const p = e.event.progress;
      if (p.phase === 'batch') {
        if (mode !== 'bar') return;
        const value = (p.epoch - 1) * p.batches + p.batch;
        const payload = { label, epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(4), ips: Math.round(p.itemsPerSec) };
        if (bar === null) {
          bar = new cliProgress.SingleBar({
            stream, format: '{label} {bar} {percentage}% | epoch {epoch}/{epochs} | loss {loss} | {ips} items/s | ETA {eta_formatted}',
            barsize: 24, hideCursor: true, clearOnComplete: false, stopOnComplete: false, etaBuffer: 40, fps: 8,
          }, cliProgress.Presets.shades_classic);
          bar.start(p.epochs * p.batches, value, payload);
        } else {
          bar.update(value, payload);
        }
      } else if (mode === 'lines') {
        const r = p.record;
        const v = r.valid?.['ndcg@10'];
        const valid = v !== undefined ? ` · valid ndcg@10 ${v.toFixed(4)} (best epoch ${r.best_epoch})` : '';
        write(`${label} · epoch ${r.epoch} · loss ${r.train_loss.toFixed(4)}${valid} · ${Math.round(r.items_per_s)} items/s · ${r.time_s.toFixed(1)}s\n`);
      }
    } else if (e.kind === 'done') {
      stop();
      const s = ((performance.now() - started) / 1000).toFixed(1);
      write(`${label}: done in ${s}s, ${e.record.epochs_trained} epochs (best ${e.record.best_epoch ?? '–'})\n`);
    }
  };
  return { onEvent, stop };
}
