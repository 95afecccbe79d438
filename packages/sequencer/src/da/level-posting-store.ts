/** The DA poster's state in the validator's LevelDB (`da-posting:<height>`, `da-cursor:0`), as JSON. */
import type { BlockPosting, PostingStore } from "@ordo/da-client";
import type { NodeStore } from "../storage/node-store.js";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = <T>(b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as T;

export class LevelPostingStore implements PostingStore {
  constructor(private readonly store: NodeStore) {}

  async getCursor(): Promise<number> {
    const b = await this.store.getDaRecord("cursor", 0);
    return b ? parse<number>(b) : 0;
  }

  async setCursor(height: number): Promise<void> {
    await this.store.putDaRecord("cursor", 0, json(height));
  }

  async getPosting(height: number): Promise<BlockPosting | null> {
    const b = await this.store.getDaRecord("posting", height);
    return b ? parse<BlockPosting>(b) : null;
  }

  async putPosting(p: BlockPosting): Promise<void> {
    await this.store.putDaRecord("posting", p.height, json(p));
  }

  async putPostings(ps: readonly BlockPosting[]): Promise<void> {
    await this.store.putDaRecords(
      "posting",
      ps.map((p) => ({ id: p.height, bytes: json(p) })),
    );
  }
}
