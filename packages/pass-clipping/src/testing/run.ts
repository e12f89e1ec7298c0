import { createPassContext, MemoryReportSink, runPipeline } from '@nibble/core';
import { type Graph, parseGraph, type Tensor } from '@nibble/ir';
import { fakeCalibration, SMALL_NET } from '@nibble/testing';

/** SMALL_NET marked by quant-policy, calibrated on `data`, through `pipeline`. */
export async function runOnSmallNet(pipeline: string, data: Record<string, Tensor>[], sink = new MemoryReportSink()): Promise<Graph> {
  const graph = parseGraph(SMALL_NET);
  const ctx = createPassContext({ reportSink: sink });
  fakeCalibration(ctx, graph, data);
  return (await runPipeline(graph, `mark-fused-relu,quant-policy,${pipeline}`, ctx)).graph;
}
