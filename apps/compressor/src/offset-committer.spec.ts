import { Metrics, SegmentState, StageEvents } from '@logsplit/common';
import { Message } from 'kafkajs';
import { OffsetCommitter } from './offset-committer';
import { PartitionHold } from './partition-guard';
import { PartitionWork } from './partition-work';
import { SegmentAnnouncer } from './segment-announcer';

const warnings: string[] = [];
const events = new StageEvents(new Metrics('compressor', 0), {
  log: () => {},
  warn: (m) => void warnings.push(m),
  error: () => {},
});

function hold(): PartitionHold {
  return {
    topic: 'by-app',
    partition: 0,
    holds: () => false,
    add: () => {},
    assertHeld: async () => {},
    isHeld: () => true,
    recheck: async () => {},
    track: (work) => work,
    done: () => {},
  };
}

/** A sealed segment whose blocks hold the given by-app offsets of partition 0. */
function segment(id: string, offsets: number[]): SegmentState {
  return {
    meta: { app: 'a', segmentId: id },
    entries: [{ records: 1, input: { topic: 'by-app', partition: 0, offsets } }],
    committedBytes: 1,
  } as SegmentState;
}

function rig() {
  const log: string[] = [];
  const producer = {
    send: async (r: { messages: Message[] }[]) => {
      for (const m of r[0].messages) log.push(`announce ${JSON.parse(String(m.value)).segmentId}`);
    },
  };
  const committer = new OffsetCommitter(new SegmentAnnouncer(producer, 'segments', events), events);
  const work = new PartitionWork('by-app', 0, 0);
  work.hold = hold();
  work.commit = async (offset) => void log.push(`commit ${offset}`);
  return { committer, work, log };
}

describe('OffsetCommitter', () => {
  it('commits only the contiguous finished prefix', async () => {
    const { committer, work, log } = rig();
    committer.takeIn(work, [0, 1, 2, 3], 4, [3]);
    committer.finish(work, [1], []);
    await committer.commit(work);
    expect(log).toEqual([]); // 0 is not finished: nothing to commit
    committer.finish(work, [0], []);
    await committer.commit(work);
    committer.finish(work, [2], []);
    await committer.commit(work);
    expect(log).toEqual(['commit 2', 'commit 4']);
  });

  it('announces a sealed segment right after the commit that covers its input, not before', async () => {
    const { committer, work, log } = rig();
    committer.takeIn(work, [0, 1, 2], 3, []);
    committer.finish(work, [1], [segment('s1', [1])]);
    await committer.commit(work);
    expect(log).toEqual([]);
    committer.finish(work, [0], []);
    await committer.commit(work); // commits 2: offset 1 is covered
    committer.finish(work, [2], [segment('s2', [2])]);
    await committer.commit(work);
    expect(log).toEqual(['commit 2', 'announce s1', 'commit 3', 'announce s2']);
  });

  it('drops the announcements of a revoked partition (the uploader pass finds them)', async () => {
    const { committer, work, log } = rig();
    committer.takeIn(work, [0], 1, []);
    committer.finish(work, [0], [segment('s1', [0])]);
    committer.forget(work);
    await committer.commit(work);
    expect(log).toEqual(['commit 1']);
  });

  it('reports a failed commit and commits again next time', async () => {
    const { committer, work, log } = rig();
    let fail = true;
    work.commit = async (offset) => {
      if (fail) throw new Error('coordinator moved');
      log.push(`commit ${offset}`);
    };
    committer.takeIn(work, [0], 1, [0]);
    await committer.commit(work);
    expect(warnings.at(-1)).toBe('committing by-app[0] failed: Error: coordinator moved');
    fail = false;
    await committer.commit(work);
    expect(log).toEqual(['commit 1']);
  });
});
