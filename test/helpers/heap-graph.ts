/**
 * A heap snapshot of this process as a graph a test can walk: objects by constructor name, their
 * edges by property name, each node's type and own size. For tests that pin what one connection
 * costs (test/regressions/idle-socket-footprint.test.ts), where a count of objects says too little.
 */
import { getHeapSnapshot } from 'node:v8';

interface Raw {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapEdge {
  /** `property`, `internal`, `element`, `hidden`, `context`, `weak`, … */
  type: string;
  /** The property name, or the index for elements and hidden edges. */
  name: string;
  to: number;
}

export class HeapGraph {
  readonly #raw: Raw;
  readonly #nodeFields: number;
  readonly #edgeFields: number;
  /** The first edge of each node, by node ordinal. */
  readonly #firstEdge: Uint32Array;

  private constructor(raw: Raw) {
    this.#raw = raw;
    const meta = raw.snapshot.meta;
    this.#nodeFields = meta.node_fields.length;
    this.#edgeFields = meta.edge_fields.length;
    const count = raw.nodes.length / this.#nodeFields;
    this.#firstEdge = new Uint32Array(count + 1);
    const edgeCount = meta.node_fields.indexOf('edge_count');
    for (let n = 0, e = 0; n < count; n++) {
      this.#firstEdge[n] = e;
      e += raw.nodes[n * this.#nodeFields + edgeCount]! * this.#edgeFields;
      this.#firstEdge[n + 1] = e;
    }
  }

  /** Takes a snapshot of this process (V8 runs a full GC first). */
  static async take(): Promise<HeapGraph> {
    const chunks: string[] = [];
    for await (const chunk of getHeapSnapshot()) chunks.push(typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'));
    return new HeapGraph(JSON.parse(chunks.join('')) as Raw);
  }

  #field(node: number, name: string): number {
    return this.#raw.nodes[node * this.#nodeFields + this.#raw.snapshot.meta.node_fields.indexOf(name)]!;
  }

  type(node: number): string {
    return this.#raw.snapshot.meta.node_types[0][this.#field(node, 'type')]!;
  }

  name(node: number): string {
    return this.#raw.strings[this.#field(node, 'name')]!;
  }

  /** The node's own size in bytes (not what it retains). */
  size(node: number): number {
    return this.#field(node, 'self_size');
  }

  /** Every object whose constructor is `name`. */
  objects(name: string): number[] {
    const out: number[] = [];
    for (let n = 0; n < this.#firstEdge.length - 1; n++) if (this.type(n) === 'object' && this.name(n) === name) out.push(n);
    return out;
  }

  edges(node: number): HeapEdge[] {
    const meta = this.#raw.snapshot.meta;
    const fType = meta.edge_fields.indexOf('type');
    const fName = meta.edge_fields.indexOf('name_or_index');
    const fTo = meta.edge_fields.indexOf('to_node');
    const out: HeapEdge[] = [];
    for (let e = this.#firstEdge[node]!; e < this.#firstEdge[node + 1]!; e += this.#edgeFields) {
      const type = meta.edge_types[0][this.#raw.edges[e + fType]!]!;
      const raw = this.#raw.edges[e + fName]!;
      const name = type === 'element' || type === 'hidden' ? String(raw) : this.#raw.strings[raw]!;
      out.push({ type, name, to: this.#raw.edges[e + fTo]! / this.#nodeFields });
    }
    return out;
  }

  /** The node a property or internal edge named `name` leads to, or null. */
  follow(node: number, name: string): number | null {
    return this.edges(node).find((e) => e.name === name && e.type !== 'weak')?.to ?? null;
  }

  /** Follows a path of edge names; null where one is missing. */
  path(node: number, ...names: string[]): number | null {
    let at: number | null = node;
    for (const name of names) {
      if (at === null) return null;
      at = this.follow(at, name);
    }
    return at;
  }
}
