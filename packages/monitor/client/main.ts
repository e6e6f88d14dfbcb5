/// <reference types="vite/client" />
import { bindApiForms } from './lib/api-forms.ts';
import { startLive } from './lib/live.ts';
import { currentPage } from './lib/page.ts';
import './styles.css';

/**
 * The monitor's one script. Every `pages/*.ts` module is bundled in and asked to `init(page)`;
 * each returns early unless `<body data-page>` is its page, so a new page adds its module and
 * nothing else. Page modules register their live handlers before the SSE connection opens.
 */
interface PageModule {
  init?: (page: string) => void;
}

const page = currentPage();
const modules = import.meta.glob<PageModule>('./pages/*.ts', { eager: true });
for (const [path, module] of Object.entries(modules)) {
  try {
    module.init?.(page);
  } catch (error) {
    // One broken page module must not take the others (or the live connection) down.
    console.error(`monitor: ${path} failed to start`, error);
  }
}
bindApiForms();
if (page !== 'error') startLive();
