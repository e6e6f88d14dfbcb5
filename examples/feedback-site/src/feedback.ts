import { z } from 'zod';

/** Line breaks and other control characters that could start a new mail header. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

/**
 * The feedback form (the seed's `FeedbackForm`), checked on the site and again by the task, so a
 * message sent from anywhere else cannot put a newline into a mail header either.
 */
export const feedbackSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, 'Please enter your name.')
    .max(100, 'Your name is too long (100 characters at most).')
    .refine((v) => !CONTROL.test(v), 'Your name cannot contain line breaks or control characters.'),
  email: z
    .string()
    .trim()
    .min(1, 'Please enter your email address.')
    .max(254, 'That email address is too long.')
    .refine((v) => !CONTROL.test(v), 'Your email address cannot contain line breaks.')
    .pipe(z.email('Please enter a valid email address, like ada@example.com.')),
  message: z
    .string()
    .trim()
    .min(10, 'Please write at least 10 characters.')
    .max(5000, 'Your message is too long (5000 characters at most).'),
});

export type Feedback = z.output<typeof feedbackSchema>;
export type FieldErrors = Partial<Record<keyof Feedback, string>>;

/** Parses form input; returns the clean values or the first error of each field. */
export function parseFeedback(
  input: Record<string, unknown>,
): { ok: true; value: Feedback } | { ok: false; errors: FieldErrors } {
  const result = feedbackSchema.safeParse({
    name: typeof input.name === 'string' ? input.name : '',
    email: typeof input.email === 'string' ? input.email : '',
    message: typeof input.message === 'string' ? input.message : '',
  });
  if (result.success) return { ok: true, value: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = issue.path[0] as keyof Feedback;
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}

/** The email the worker sends (the seed's `send_feedback_email`: a thank-you to the sender). */
export function renderFeedbackEmail(feedback: Feedback): { subject: string; text: string } {
  return {
    subject: 'Your feedback',
    text: [
      `Hi ${feedback.name},`,
      '',
      'Thank you for your feedback. This is what you wrote:',
      '',
      ...feedback.message.split(/\r?\n/).map((line) => `  ${line}`),
      '',
      'Sent by the Celeriac feedback site (a worker rendered and sent this email).',
    ].join('\n'),
  };
}
