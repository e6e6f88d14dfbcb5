import { html } from 'hono/html';
import type { ClusterState } from '../state/cluster-state.ts';
import type { TaskRecord } from '../state/task-state.ts';
import type { Html, PageContext } from './layout.ts';

/** One box of the graph; `missing` is a parent or root no longer in memory (only its id is known). */
export interface WorkflowNode {
  uuid: string;
  name: string | null;
  state: string;
  parent: string | null;
  order: number;
  missing: boolean;
}

const NODE_W = 160;
const NODE_H = 38;
const COL = NODE_W + 44;
const ROW = NODE_H + 14;
const PAD = 8;

/**
 * The task's workflow: every task in memory with the same `root_id` (a chain, group or chord
 * started together), linked by `parent_id`. Bounded to `limit` nodes; the task's ancestors and
 * children are always kept. Empty when the task stands alone.
 */
export function workflowOf(state: ClusterState, task: TaskRecord, limit = 60): WorkflowNode[] {
  const root = task.root_id ?? task.uuid;
  const members = new Map<string, TaskRecord>();
  for (const t of state.tasksNewestFirst()) {
    if (t.uuid === root || t.root_id === root || t.parent_id === task.uuid) members.set(t.uuid, t);
  }
  members.set(task.uuid, task);
  if (members.size === 1 && !task.parent_id) return [];

  const keep = new Map<string, TaskRecord>();
  for (let t: TaskRecord | undefined = task, hops = 0; t && hops < limit; hops++) {
    keep.set(t.uuid, t);
    t = t.parent_id ? members.get(t.parent_id) : undefined;
  }
  for (const t of members.values()) if (t.parent_id === task.uuid && keep.size < limit) keep.set(t.uuid, t);
  const rest = [...members.values()].sort((a, b) => time(a) - time(b));
  for (const t of rest) if (keep.size < limit) keep.set(t.uuid, t);

  const nodes: WorkflowNode[] = [...keep.values()].map((t) => ({
    uuid: t.uuid,
    name: t.name,
    state: t.state,
    parent: t.parent_id,
    order: time(t),
    missing: false,
  }));
  // A parent (or root) that left memory still shows, as an id-only box.
  for (const id of new Set([task.parent_id, task.root_id])) {
    if (id && !keep.has(id) && id !== task.uuid)
      nodes.push({ uuid: id, name: null, state: 'UNKNOWN', parent: null, order: -Infinity, missing: true });
  }
  return nodes;
}

function time(t: TaskRecord): number {
  return t.sent ?? t.received ?? t.timestamp;
}

/** Columns by depth (parent → child left to right), rows by depth-first order; parents centred on their children. */
function layoutGraph(nodes: WorkflowNode[]): Map<string, { x: number; y: number }> {
  const byId = new Map(nodes.map((n) => [n.uuid, n]));
  const children = new Map<string, WorkflowNode[]>();
  const roots: WorkflowNode[] = [];
  for (const node of nodes) {
    const parent = node.parent && node.parent !== node.uuid ? byId.get(node.parent) : undefined;
    if (parent) children.set(parent.uuid, [...(children.get(parent.uuid) ?? []), node]);
    else roots.push(node);
  }
  const positions = new Map<string, { x: number; y: number }>();
  let nextRow = 0;
  const place = (node: WorkflowNode, depth: number): number => {
    positions.set(node.uuid, { x: 0, y: 0 }); // marks it visited, so a parent_id cycle cannot loop
    const kids = (children.get(node.uuid) ?? [])
      .filter((k) => !positions.has(k.uuid))
      .sort((a, b) => a.order - b.order);
    const rows = kids.map((k) => place(k, depth + 1));
    const row = rows.length ? (rows[0]! + rows[rows.length - 1]!) / 2 : nextRow++;
    positions.set(node.uuid, { x: PAD + depth * COL, y: PAD + row * ROW });
    return row;
  };
  for (const root of roots.sort((a, b) => a.order - b.order)) place(root, 0);
  // Whatever a cycle left unplaced goes in a last row.
  for (const node of nodes) if (!positions.has(node.uuid)) place(node, 0);
  return positions;
}

function short(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The graph as inline SVG: each node links to its task and is coloured by state (CSS classes). */
export function workflowGraph(ctx: PageContext, current: string, nodes: WorkflowNode[]): Html {
  if (nodes.length === 0)
    return html`<p class="muted">This task is not part of a workflow (no parent, no children).</p>`;
  const at = layoutGraph(nodes);
  const width = Math.max(...[...at.values()].map((p) => p.x)) + NODE_W + PAD;
  const height = Math.max(...[...at.values()].map((p) => p.y)) + NODE_H + PAD;
  const edges = nodes.flatMap((node) => {
    const from = node.parent ? at.get(node.parent) : undefined;
    const to = at.get(node.uuid);
    if (!from || !to || node.parent === node.uuid) return [];
    const x1 = from.x + NODE_W;
    const y1 = from.y + NODE_H / 2;
    const x2 = to.x;
    const y2 = to.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    return [html`<path class="edge" d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}" />`];
  });
  return html`<div class="workflow-scroll">
    <svg
      class="workflow"
      width="${width}"
      height="${height}"
      viewBox="0 0 ${width} ${height}"
      role="img"
      aria-label="workflow graph: ${nodes.length} tasks"
      data-nodes="${nodes.length}"
    >
      ${edges}
      ${nodes.map((node) => {
        const p = at.get(node.uuid)!;
        const cls = `wf-node state-${node.state}${node.uuid === current ? ' current' : ''}${node.missing ? ' missing' : ''}`;
        return html`<a href="${ctx.base}/task/${encodeURIComponent(node.uuid)}">
          <g
            class="${cls}"
            data-uuid="${node.uuid}"
            data-state="${node.state}"
            transform="translate(${p.x} ${p.y})"
          >
            <title>${node.name ?? 'unknown task'} ${node.uuid} (${node.state})</title>
            <rect width="${NODE_W}" height="${NODE_H}" rx="5" />
            <text x="8" y="15">${short(node.name ?? (node.missing ? '(not in memory)' : '—'), 24)}</text>
            <text x="8" y="30" class="sub"
              >${node.missing ? '' : `${node.state} · `}${node.uuid.slice(0, 8)}</text
            >
          </g>
        </a>`;
      })}
    </svg>
  </div>`;
}
