/** Fills every `[data-field=<field>]` under `root` with text; a state also gets its color class. */
export function setField(root: ParentNode, field: string, text: string): void {
  root.querySelectorAll<HTMLElement>(`[data-field="${field}"]`).forEach((el) => {
    el.textContent = text;
    if (field === 'state') el.className = `state state-${text}`;
  });
}

export function cell(row: HTMLTableRowElement, field: string, text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.dataset.field = field;
  td.textContent = text;
  row.appendChild(td);
  return td;
}
