/**
 * Copy text to the clipboard. `navigator.clipboard` exists only in secure contexts,
 * and the app may be served over plain HTTP on a LAN, so fall back to a hidden
 * textarea and `execCommand('copy')` there.
 */
export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard != null && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Fall through: permission denied or document not focused.
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  document.body.append(area);
  area.select();
  let ok: boolean;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  active?.focus();
  return ok;
}
