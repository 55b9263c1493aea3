#include "condense/theory/spectrum.hpp"

#include <Eigen/SVD>

#include "condense/core/error.hpp"

namespace condense {

Spectrum singular_spectrum(const Matrix<double>& Z) {
  if (Z.rows() == 0 || Z.cols() == 0) fail_input("the correlation Z is empty");
  if (!Z.allFinite()) fail_input("the correlation Z has non-finite entries (check the data)");
  const Eigen::MatrixXd column_major = Z;  // JacobiSVD's QR preconditioner wants column-major
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(column_major, Eigen::ComputeThinU | Eigen::ComputeThinV);
  Spectrum spectrum;
  spectrum.singular_values = svd.singularValues();
  spectrum.left = svd.matrixU();
  spectrum.right = svd.matrixV();
  for (Eigen::Index k = 0; k < spectrum.right.cols(); ++k) {
    Eigen::Index largest = 0;
    for (Eigen::Index j = 1; j < spectrum.right.rows(); ++j)
      if (std::abs(spectrum.right(j, k)) > std::abs(spectrum.right(largest, k))) largest = j;
    if (spectrum.right(largest, k) < 0) {
      spectrum.right.col(k) *= -1.0;
      spectrum.left.col(k) *= -1.0;
    }
  }
  return spectrum;
}

}  // namespace condense
