/** htm bound to Preact's `h`: tagged templates instead of JSX, so the views need no JSX
 *  transform (htm's own `htm/preact` entry imports `preact` without declaring it). */
import htm from 'htm';
import { h } from 'preact';

export const html = htm.bind(h);
