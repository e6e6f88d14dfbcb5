import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { formatRecord, type BeatLease, type Claim } from '../../lease/lease.ts';
import type { SqlConnection } from './sql-connect.ts';
import { ms, type BeatDb, type BeatTables } from './sql-schema.ts';

export interface SqlLeaseOptions {
  connect: () => Promise<SqlConnection<BeatDb>>;
  tables: BeatTables;
  /** (Default: 10 s) */
  leaseMs?: number;
  /** The lease row's name, so several beat groups can share the tables. (Default: `beat`) */
  name?: string;
  /** Clock for lease expiry; beats sharing a lease need clocks within a fraction of `leaseMs`. (Default: Date.now) */
  now?: () => number;
}

/**
 * A lease as a row in `<prefix>_lease`, taken or renewed by one conditional UPDATE; the
 * fencing record in `<prefix>_sent`, claimed by one UPDATE that also checks the lease row,
 * so the check and the record are a single atomic statement in every database.
 */
export class SqlLease implements BeatLease {
  readonly description: string;
  readonly leaseMs: number;
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly name: string;
  private readonly now: () => number;

  constructor(private readonly options: SqlLeaseOptions) {
    this.leaseMs = options.leaseMs ?? 10_000;
    this.name = options.name ?? 'beat';
    this.now = options.now ?? Date.now;
    this.description = `sql:${options.tables.lease}/${this.name}`;
  }

  async acquire(): Promise<boolean> {
    const { db } = await this.options.connect();
    const now = this.now();
    const lease = this.options.tables.lease as 'beat_lease';
    const renewed = await db
      .updateTable(lease)
      .set({ holder: this.holder, expires_at: now + this.leaseMs })
      .where('name', '=', this.name)
      .where((eb) => eb.or([eb('holder', '=', this.holder), eb('expires_at', '<', now)]))
      .executeTakeFirst();
    if (Number(renewed.numUpdatedRows) > 0) return true;
    try {
      await db
        .insertInto(lease)
        .values({ name: this.name, holder: this.holder, expires_at: now + this.leaseMs })
        .execute();
      return true;
    } catch {
      return false; // the row exists and is someone else's (a primary-key conflict)
    }
  }

  async claim(entryName: string, slotMs: number, runAtMs: number): Promise<Claim> {
    const { db, dialect } = await this.options.connect();
    const { lease, sent } = this.options.tables as { lease: 'beat_lease'; sent: 'beat_sent' };
    const now = this.now();
    const previousRow = await db
      .selectFrom(sent)
      .selectAll()
      .where('entry', '=', entryName)
      .executeTakeFirst();
    if (!previousRow) {
      const seed = db.insertInto(sent).values({ entry: entryName, last_slot: -1, last_sent_at: 0 });
      await (
        dialect === 'mysql' ? seed.ignore() : seed.onConflict((oc) => oc.column('entry').doNothing())
      ).execute();
    }
    const claimed = await db
      .updateTable(sent)
      .set({ last_slot: Math.round(slotMs), last_sent_at: Math.round(runAtMs) })
      .where('entry', '=', entryName)
      .where('last_slot', '<', Math.round(slotMs))
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom(lease)
            .select('name')
            .where('name', '=', this.name)
            .where('holder', '=', this.holder)
            .where('expires_at', '>=', now),
        ),
      )
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 1) {
      const prevSlot = ms(previousRow?.last_slot);
      return {
        ok: true,
        previous:
          prevSlot !== undefined && prevSlot >= 0
            ? formatRecord(prevSlot, ms(previousRow!.last_sent_at)!)
            : undefined,
      };
    }
    const holder = await db
      .selectFrom(lease)
      .select(['holder', 'expires_at'])
      .where('name', '=', this.name)
      .executeTakeFirst();
    if (!holder || holder.holder !== this.holder || ms(holder.expires_at)! < now)
      return { ok: false, reason: 'not-leader' };
    const row = await db
      .selectFrom(sent)
      .selectAll()
      .where('entry', '=', entryName)
      .executeTakeFirstOrThrow();
    return {
      ok: false,
      reason: 'already-sent',
      lastSlotMs: ms(row.last_slot)!,
      lastRunAtMs: ms(row.last_sent_at)!,
    };
  }

  async unclaim(entryName: string, slotMs: number, previous: string | undefined): Promise<void> {
    const { db } = await this.options.connect();
    const [slot, sentAt] = previous ? previous.split(':').map(Number) : [-1, 0];
    await db
      .updateTable(this.options.tables.sent as 'beat_sent')
      .set({ last_slot: slot!, last_sent_at: sentAt! })
      .where('entry', '=', entryName)
      .where('last_slot', '=', Math.round(slotMs))
      .execute();
  }

  async release(): Promise<void> {
    const { db } = await this.options.connect();
    await db
      .deleteFrom(this.options.tables.lease as 'beat_lease')
      .where('name', '=', this.name)
      .where('holder', '=', this.holder)
      .execute();
  }

  /** The connection belongs to the store; nothing to close here. */
  async close(): Promise<void> {}
}
