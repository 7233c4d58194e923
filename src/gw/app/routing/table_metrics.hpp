#pragma once

#include "gw/app/routing/model_table.hpp"
#include "gw/metrics/metrics.hpp"

namespace gw::app {

// Adds the model table's deployment gauges to `metrics`, computed at each scrape from the table
// `holder` holds then (a reload's new table at once, no stale series): per model and deployment,
// requests in flight, the circuit state and the seconds left of a rate-limit cooldown. `holder`
// must outlive `metrics`' scrapes.
void add_table_metrics(metrics::Metrics& metrics, const TableHolder& holder);

}  // namespace gw::app
