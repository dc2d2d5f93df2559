import { randomUUID } from 'node:crypto';
import { FleetError } from '../src/errors.ts';
import type { Annotation, Events, Methods } from '../src/ipc/protocol.ts';

/** What browser_annotate shows the person: the page as they will draw on it. */
export type AnnotationRequest = Omit<Events['annotation.requested'], 'id'>;

/** A person's answer: their boxes and notes, or that they cancelled. */
export type AnnotationAnswer = { annotations: Annotation[] } | { cancelled: true };

/**
 * browser_annotate's requests waiting for a person, by id. The request goes out as an event (the
 * front shows it on the dashboard); the answer comes back as an `annotation.submit` request.
 */
export class Annotations {
  private readonly pending = new Map<string, (answer: AnnotationAnswer) => void>();

  constructor(private readonly emit: <E extends 'annotation.requested' | 'annotation.ended'>(name: E, data: Events[E]) => void) {}

  /** Shows `request` for annotation and waits for the answer, or until `signal` aborts (the call's deadline, a cancel). */
  async request(request: AnnotationRequest, signal: AbortSignal): Promise<AnnotationAnswer> {
    if (signal.aborted) throw signal.reason;
    const id = randomUUID();
    try {
      return await new Promise<AnnotationAnswer>((resolve, reject) => {
        this.pending.set(id, resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        this.emit('annotation.requested', { id, ...request });
      });
    } finally {
      this.pending.delete(id);
      this.emit('annotation.ended', { id });
    }
  }

  /** The answer to request `id`; false when nothing waits for it any more. */
  submit(params: Methods['annotation.submit']['params']): { accepted: boolean } {
    const resolve = this.pending.get(params.id);
    if (!resolve) return { accepted: false };
    if (!params.cancelled && !Array.isArray(params.annotations)) throw new FleetError('BAD_REQUEST', 'annotation.submit needs annotations or cancelled');
    resolve(params.cancelled ? { cancelled: true } : { annotations: params.annotations! });
    return { accepted: true };
  }
}
