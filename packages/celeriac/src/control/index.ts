/** Remote control: the client (`inspect`, `control`) and the worker's mailbox (§7). */
export { ControlClient, flattenReplies, type CallOptions, type BroadcastTarget } from './control-client.ts';
export { Mailbox, startMailbox, defaultControlPanel, type MailboxOptions } from './mailbox.ts';
export {
  ControlPanel,
  NO_REPLY,
  ok,
  nok,
  type ControlContext,
  type ControlHandler,
} from './control-panel.ts';
export { COMMANDS, compileArguments, CommandArgumentError, type CommandMeta } from './commands.ts';
export { LamportClock } from './lamport-clock.ts';
export { matchNode, MatcherNotInstalledError } from './matcher.ts';
export {
  nodeQueue,
  replyQueue,
  REPLY_EXCHANGE,
  PIDBOX_EXCHANGE,
  type PidboxRequest,
  type PidboxReply,
} from './pidbox.ts';
