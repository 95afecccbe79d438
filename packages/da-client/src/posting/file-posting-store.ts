/**
 * A `PostingStore` in one JSON file, written atomically (temp file + rename):
 * for a poster run outside a validator (the validator keeps its state in its
 * LevelDB). Every posting is kept: its receipts are how a block is found and
 * retrieved later.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import type { BlockPosting, PostingStore } from "./da-poster.js";

interface FileState {
  cursor: number;
  postings: Record<string, BlockPosting>;
}

export class FilePostingStore implements PostingStore {
  private state: FileState | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  private async load(): Promise<FileState> {
    if (this.state) return this.state;
    try {
      this.state = JSON.parse(await readFile(this.path, "utf8")) as FileState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      this.state = { cursor: 0, postings: {} };
    }
    return this.state;
  }

  private async save(): Promise<void> {
    const text = JSON.stringify(await this.load());
    // Writes are chained: a later state never lands before an earlier one.
    this.writing = this.writing.then(async () => {
      await writeFile(`${this.path}.partial`, text);
      await rename(`${this.path}.partial`, this.path);
    });
    await this.writing;
  }

  async getCursor(): Promise<number> {
    return (await this.load()).cursor;
  }

  async setCursor(height: number): Promise<void> {
    (await this.load()).cursor = height;
    await this.save();
  }

  async getPosting(height: number): Promise<BlockPosting | null> {
    const p = (await this.load()).postings[String(height)];
    return p ? (JSON.parse(JSON.stringify(p)) as BlockPosting) : null;
  }

  async putPosting(p: BlockPosting): Promise<void> {
    await this.putPostings([p]);
  }

  async putPostings(ps: readonly BlockPosting[]): Promise<void> {
    const state = await this.load();
    for (const p of ps) state.postings[String(p.height)] = JSON.parse(JSON.stringify(p)) as BlockPosting;
    await this.save();
  }
}
