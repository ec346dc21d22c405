// The tslab kernel sends every output message with zeromq's `send` without waiting for the
// previous one; zeromq 6 allows one send in flight per socket and throws EBUSY for the next,
// which aborts a notebook cell with an empty `<Error>` after a burst of output. aelab queues
// the kernel's sends when it loads in a kernel: checked here on a real zeromq socket pair.
import assert from 'node:assert/strict';
import { queueKernelSends } from '../src/lib/notebook/kernel';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const zmq = require('zeromq') as typeof import('zeromq');

async function burst(n: number): Promise<{ thrown: string[]; received: string[] }> {
  const pub = new zmq.Publisher();
  const sub = new zmq.Subscriber();
  await pub.bind('tcp://127.0.0.1:*');
  sub.connect(pub.lastEndpoint!);
  sub.subscribe();
  await new Promise((r) => setTimeout(r, 200)); // let the subscription arrive
  const received: string[] = [];
  const reading = (async () => {
    for await (const [topic] of sub) received.push(topic.toString());
  })().catch(() => undefined);
  const thrown: string[] = [];
  const sends: Promise<void>[] = [];
  const body = 'x'.repeat(20000); // large frames, so the socket cannot flush at once
  for (let i = 0; i < n; i++) {
    try {
      sends.push(pub.send([String(i), body]).catch((e: { code?: string }) => void thrown.push(e.code ?? String(e))));
    } catch (e) {
      thrown.push((e as { code?: string }).code ?? String(e));
    }
  }
  await Promise.all(sends);
  for (let t = 0; t < 50 && received.length < n; t++) await new Promise((r) => setTimeout(r, 100));
  pub.close();
  sub.close();
  await reading;
  return { thrown, received };
}

describe('notebook kernel: queued zeromq sends', function () {
  this.timeout(20000);
  it('outside a kernel it does nothing', () => {
    assert.equal(queueKernelSends(), false);
  });

  it('a burst of sends throws EBUSY as zeromq ships; queued, every send goes through in order', async () => {
    const plain = await burst(3000);
    assert.ok(plain.thrown.length > 0 && plain.thrown.every((c) => c === 'EBUSY'), `plain: ${plain.thrown.length} thrown`);
    const g = globalThis as { __tslab__?: unknown };
    g.__tslab__ = {};
    try {
      assert.equal(queueKernelSends(), true);
      assert.equal(queueKernelSends(), true, 'idempotent');
    } finally {
      delete g.__tslab__;
    }
    // (a publisher drops what exceeds its high-water mark of 1,000 queued messages when the
    // reader falls behind: 900 always fit)
    const queued = await burst(900);
    assert.deepEqual(queued.thrown, []);
    assert.deepEqual(queued.received, Array.from({ length: 900 }, (_, i) => String(i)));
  });
});
