import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';
import { FONT_FAMILY } from '../font.ts';

// Only the charts and parts the console draws, so the rest of ECharts stays out of the bundle.
echarts.use([
  LineChart,
  BarChart,
  PieChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  CanvasRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

/** An ECharts chart that follows its option and its container's width. */
export function Chart({
  option,
  height = 280,
  testId,
}: {
  option: ChartOption;
  height?: number;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!box.current) return;
    const c = echarts.init(box.current);
    chart.current = c;
    const resize = new ResizeObserver(() => c.resize());
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    let live = true;
    // A canvas draws only fonts already loaded: load the slices of the carried Chinese font the
    // chart's texts need first (a browser with a system Chinese font uses that anyway).
    const text = JSON.stringify(option);
    const fonts = /[\u4e00-\u9fff]/.test(text)
      ? document.fonts.load(`12px 'Noto Sans SC Variable'`, text).catch(() => [])
      : Promise.resolve([]);
    void fonts.then(() => {
      if (live)
        chart.current?.setOption(
          { textStyle: { fontFamily: FONT_FAMILY }, animationDuration: 400, ...option },
          true,
        );
    });
    return () => {
      live = false;
    };
  }, [option]);
  return <div ref={box} style={{ width: '100%', height }} data-testid={testId} />;
}
