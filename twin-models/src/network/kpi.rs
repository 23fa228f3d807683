//! The network's KPIs: stock, service and shipments per site, lane and region.

use serde::Serialize;

/// KPIs of the network beyond the plant.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NetworkKpis {
    /// Per site.
    pub sites: Vec<SiteKpis>,
    /// Per lane.
    pub lanes: Vec<LaneKpis>,
    /// Customer service per region (DCs only), in region order.
    pub regions: Vec<RegionKpis>,
}

/// KPIs of a site; the fields of the other kind of site are `null`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SiteKpis {
    /// Site name.
    pub site: String,
    /// `plant` or `dc`.
    pub kind: String,
    /// Region.
    pub region: String,
    /// Finished-goods material.
    pub product: String,
    /// Pallets on hand at the end.
    pub on_hand: f64,
    /// Time-weighted mean on hand, pallets.
    pub average_on_hand: f64,
    /// Lowest on hand, pallets.
    pub least_on_hand: f64,
    /// Pallets out (shipped or sold) over average on hand.
    pub turns: f64,
    /// Times demand found too little (customer orders at a DC, DC requests at a plant).
    pub stock_outs: u64,
    /// Minutes with demand waiting.
    pub stock_out_minutes: f64,
    /// Plant: pallets made.
    pub pallets_made: Option<f64>,
    /// Plant: pallets shipped to DCs.
    pub pallets_shipped: Option<f64>,
    /// Plant: pallets DCs asked for and not yet shipped, at the end.
    pub pallets_waiting_to_ship: Option<f64>,
    /// DC: customer orders.
    pub orders: Option<u64>,
    /// DC: share of ordered pallets on hand when ordered.
    pub fill_rate: Option<f64>,
    /// DC: orders shipped in full by their due time over orders due by the end.
    pub otif: Option<f64>,
    /// DC: orders not shipped in full at the end.
    pub open_orders: Option<u64>,
    /// DC: pallets received from its plant.
    pub pallets_received: Option<f64>,
    /// DC: pallets on the road to it at the end.
    pub pallets_in_transit: Option<f64>,
}

/// KPIs of a transport lane.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LaneKpis {
    /// Shipping site.
    pub from: String,
    /// Receiving site.
    pub to: String,
    /// Trucks sent.
    pub trucks: u64,
    /// Pallets sent.
    pub pallets: f64,
    /// Pallets per truck over truck capacity.
    pub truck_fill: f64,
}

/// Customer service of the DCs of one region.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RegionKpis {
    /// Region ("" for sites without one).
    pub region: String,
    /// Customer orders.
    pub orders: u64,
    /// On time in full over orders due.
    pub otif: Option<f64>,
    /// Share of ordered pallets on hand when ordered.
    pub fill_rate: Option<f64>,
}
