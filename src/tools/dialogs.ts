import { z } from 'zod';
import { defineTool } from './tool.ts';

const handleDialog = defineTool({
  name: 'browser_handle_dialog',
  title: 'Handle a dialog',
  description: 'Handle a dialog (alert, confirm, prompt, beforeunload). While one is open, the page is blocked and other page tools refuse to run.',
  input: z.object({
    accept: z.boolean().describe('Whether to accept the dialog.'),
    promptText: z.string().optional().describe('The text of the prompt in case of a prompt dialog.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  clearsModalState: 'dialog',
  async handle(ctx, { accept, promptText }, response) {
    const state = ctx.modalStates().find((s) => s.type === 'dialog');
    if (state?.type !== 'dialog') throw new Error('No dialog visible');
    ctx.clearModalState(state);
    // Accepting can start a navigation (confirm before submit) or open the next dialog.
    await ctx.settleAfter(() => accept ? state.dialog.accept(promptText) : state.dialog.dismiss(), { closesDialog: true });
    response.addResult(`${accept ? 'Accepted' : 'Dismissed'} the ${state.description}.`);
    response.setIncludeSnapshot();
  },
});

/** Answering alert, confirm, prompt and beforeunload dialogs. */
export const dialogsTools = [handleDialog];
