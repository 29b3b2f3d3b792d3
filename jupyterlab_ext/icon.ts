/** The nbrepro icon (a check mark in a circular arrow). */

import { LabIcon } from '@jupyterlab/ui-components';

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161">
<path d="M12 4a8 8 0 0 1 7.75 6h-2.1A6 6 0 1 0 18 14h2.06A8 8 0 1 1 12 4z"/>
<path d="M22 6v5h-5z"/>
<path d="M10.6 15.2 7.4 12l1.4-1.4 1.8 1.8 4.6-4.6 1.4 1.4z"/>
</g></svg>`;

/** The icon of the panel's tab, the command and the toolbar button. */
export const reproIcon = new LabIcon({ name: 'nbrepro:icon', svgstr: SVG });
