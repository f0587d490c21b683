//! Probes three 20-layer MLPs at initialization on Gaussian data, prints the theory table
//! and the findings of each, and draws the gradient-norm and activation-std plots (SVG and
//! PNG) into the directory given as the first argument (default: the current directory).
//!
//! ```text
//! cargo run -p gradwell-monitor --example probe -- plots/
//! ```

use std::path::PathBuf;

use gradwell_monitor::{
    PlainNet, Series, Setup, TheoryTable, Thresholds, plot_activation_std_by_layer,
    plot_grad_norm_by_layer, probe,
};
use gradwell_nn::{MlpSpec, Network};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = Array2::<f32>::from_shape_simple_fn((64, 128), || {
        let z: f64 = StandardNormal.sample(&mut rng);
        z as f32
    });
    let labels: Vec<i64> = (0..64).map(|i| i % 10).collect();
    let mut widths = vec![128; 20];
    widths.push(10);
    let mut grads = Vec::new();
    let mut stds = Vec::new();
    for (act, init) in [
        ("sigmoid", "xavier-uniform"),
        ("relu", "he-normal"),
        ("relu", "xavier-normal"),
    ] {
        let mut mlp = MlpSpec::new(&widths, act.parse()?);
        mlp.init = Some(init.parse()?);
        let mut net = Network::<f32>::build(&mlp.to_spec()?, 0)?;
        let p = probe(
            &mut net,
            &x.view(),
            &labels,
            &Thresholds::default(),
            &Setup::default(),
        )?;
        let theory = PlainNet::from_mlp(&mlp, 1.0)?.predict()?;
        println!(
            "== {act}, {init}\n{}",
            TheoryTable::compare(&theory, &p.record)?
        );
        for f in &p.findings {
            println!("{f}");
        }
        let name = format!("{act} + {init}");
        grads.push(Series::grad_norm_by_layer(&name, &p.record));
        stds.push(Series::activation_std_by_layer(&name, &p.record));
    }
    for ext in ["svg", "png"] {
        plot_grad_norm_by_layer(&out.join(format!("grad_norm_by_layer.{ext}")), &grads)?;
        plot_activation_std_by_layer(&out.join(format!("activation_std_by_layer.{ext}")), &stds)?;
    }
    println!("plots written to {}", out.display());
    Ok(())
}
