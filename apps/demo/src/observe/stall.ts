/** "Nothing moved for a minute while work is outstanding": the demo gives up instead of waiting forever. */

/** No decision and no stream movement for this long while work is outstanding: give up. */
export const STALL_MS = 60_000;

/** Tracks a progress key (counts that move while the fleet works); stalled once it stood still for STALL_MS. */
export class StallWatch {
  private lastKey = '';
  private lastMove = Date.now();

  /** Notes the current key; true when it has not changed for STALL_MS. */
  stalled(key: string): boolean {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastMove = Date.now();
      return false;
    }
    return Date.now() - this.lastMove > STALL_MS;
  }
}
