import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import {
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  PassCompleted,
  PassFailed,
  StageEvents,
} from '@logsplit/common';
import { UploadPass } from './upload-pass';

/**
 * The periodic pass that seals idle segments and uploads whatever is sealed: the backstop for
 * missed segment events and the only trigger for apps that stopped writing.
 */
@Injectable()
export class UploadScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private running?: Promise<void>;
  /** A tick came while a pass ran. */
  private again = false;
  private stopping = false;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(UploadPass) private readonly uploads: Pick<UploadPass, 'pass'>,
    private readonly events: StageEvents,
    private readonly registry: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.tick(), this.config.uploader.intervalMs);
    this.registry.addInterval('upload-pass', timer);
    void this.tick();
  }

  /** Lets an upload in progress finish: its segment stays on the spool until it has. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    // The schedule module's own shutdown hook may have removed it already.
    if (this.registry.doesExist('interval', 'upload-pass'))
      this.registry.deleteInterval('upload-pass');
    await this.running;
  }

  /**
   * Passes never overlap: a slow store delays the next pass instead of stacking them. A tick
   * that comes during a pass is not dropped but runs right after it, so segments sealed during
   * a long pass (a drain) do not wait a whole interval more.
   */
  tick(): Promise<void> {
    if (this.running) {
      this.again = !this.stopping;
      return this.running;
    }
    this.running = this.uploads
      .pass()
      .then((t) => {
        this.events.emit(new PassCompleted(t));
      })
      .catch((error: unknown) => this.events.emit(new PassFailed({ error })))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopping) {
          this.again = false;
          void this.tick();
        }
      });
    return this.running;
  }
}
