import '@fontsource-variable/noto-sans-sc';

/**
 * The system's fonts first; Noto Sans SC, which the apps carry, last: a browser downloads a slice
 * of it only for characters no earlier font has (a machine without a Chinese font), so a phone or
 * a desktop with one never loads it.
 */
export const FONT_FAMILY = [
  '-apple-system',
  'BlinkMacSystemFont',
  "'Segoe UI'",
  'Roboto',
  "'Helvetica Neue'",
  'Arial',
  "'PingFang SC'",
  "'Hiragino Sans GB'",
  "'Microsoft YaHei'",
  "'Noto Sans CJK SC'",
  "'Noto Sans SC Variable'",
  'sans-serif',
].join(', ');
